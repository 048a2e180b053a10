//! The collected results (`key<TAB>value` files) and how figures are printed.

use std::collections::HashMap;
use std::path::Path;

/// One `key<TAB>value` file; a later line wins.
pub struct Data(HashMap<String, String>);

impl Data {
    pub fn load(path: &Path) -> Self {
        let mut map = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(path) {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('\t') {
                    map.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
        }
        Self(map)
    }

    pub fn s(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn f(&self, key: &str) -> Option<f64> {
        self.s(key).and_then(|v| v.parse().ok())
    }

    /// `median (min–max)` of a key printed with its `.min` and `.max`.
    pub fn spread(&self, key: &str) -> String {
        match (
            self.f(key),
            self.f(&format!("{key}.min")),
            self.f(&format!("{key}.max")),
        ) {
            (Some(m), Some(lo), Some(hi)) => format!("{} ({}–{})", num(m), num(lo), num(hi)),
            (Some(m), _, _) => num(m),
            _ => "not measured".to_owned(),
        }
    }

    /// Idle-session memory by the targets' definition: the sink's VmRSS growth from
    /// before the first session to after the last, over the sessions open, in bytes.
    pub fn per_session(&self, who: &str, kind: &str) -> Option<f64> {
        let n = self.f(&format!("mem.{who}.{kind}.open"))?;
        let before = self.f(&format!("mem.{who}.{kind}.rss_before_kib"))?;
        let after = self.f(&format!("mem.{who}.{kind}.rss_after_kib"))?;
        (n > 0.0).then(|| (after - before) * 1024.0 / n)
    }

    /// The second half's growth over the second half's sessions, in bytes.
    pub fn marginal(&self, who: &str, kind: &str) -> Option<f64> {
        let n = self.f(&format!("mem.{who}.{kind}.open"))?;
        let h = self.f(&format!("mem.{who}.{kind}.half_open"))?;
        let half = self.f(&format!("mem.{who}.{kind}.rss_half_kib"))?;
        let after = self.f(&format!("mem.{who}.{kind}.rss_after_kib"))?;
        (n > h && half > 0.0).then(|| (after - half) * 1024.0 / (n - h))
    }
}

/// A number for a table: thousands grouped, three significant digits below 100.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_owned();
    }
    if x.abs() >= 100.0 {
        let s = format!("{:.0}", x);
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

pub fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "not measured".to_owned(), num)
}

/// A ratio for the targets table: "—" where the row has none.
pub fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), num)
}
