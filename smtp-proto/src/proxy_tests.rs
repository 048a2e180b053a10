use super::*;
use proptest::prelude::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn v1_tcp4_and_what_follows() {
    let buf = b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\nEHLO x\r\n";
    let (h, len) = parse(buf).unwrap().unwrap();
    assert_eq!(h.version, 1);
    assert_eq!(h.source, Some(sa("192.0.2.7:56324")));
    assert_eq!(h.destination, Some(sa("198.51.100.1:25")));
    assert_eq!(&buf[len..], b"EHLO x\r\n");
}

#[test]
fn v1_tcp6_and_unknown() {
    let buf = b"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n";
    let (h, len) = parse(buf).unwrap().unwrap();
    assert_eq!(len, buf.len());
    assert_eq!(h.source, Some(sa("[2001:db8::1]:1")));
    assert_eq!(h.destination, Some(sa("[2001:db8::2]:65535")));
    let (h, len) = parse(b"PROXY UNKNOWN ffff::1 whatever\r\nX")
        .unwrap()
        .unwrap();
    assert_eq!((h.source, h.destination, len), (None, None, 32));
}

#[test]
fn v1_refusals() {
    let bad: &[(&[u8], ProxyError)] = &[
        (b"HELO x\r\n", ProxyError::NotProxy),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
            ProxyError::V1Malformed("line does not end in CRLF"),
        ),
        (
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            ProxyError::V1Malformed("protocol is not TCP4, TCP6 or UNKNOWN"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            ProxyError::V1Malformed("missing field"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            ProxyError::V1Malformed("extra field"),
        ),
        (
            b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
            ProxyError::V1Malformed("address"),
        ),
        (
            b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
            ProxyError::V1Malformed("address"),
        ),
        (
            b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
            ProxyError::V1Malformed("address"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            ProxyError::V1Malformed("port"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
            ProxyError::V1Malformed("port"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            ProxyError::V1Malformed("port"),
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
            ProxyError::V1Malformed("CR inside the line"),
        ),
        (
            b"PROXY TCP4 1.2.3.4\r5.6.7.8 1 2",
            ProxyError::V1Malformed("CR not followed by LF"),
        ),
        (b"PROXYTCP4", ProxyError::NotProxy),
    ];
    for (input, want) in bad {
        assert_eq!(
            parse(input),
            Err(*want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    let long = [b"PROXY UNKNOWN ".as_slice(), &[b'a'; 100]].concat();
    assert_eq!(parse(&long), Err(ProxyError::V1TooLong));
}

#[test]
fn v2_families() {
    let v4 = (sa("192.0.2.7:56324"), sa("198.51.100.1:25"));
    let buf = encode_v2(Some(v4));
    let (h, len) = parse(&buf).unwrap().unwrap();
    assert_eq!(
        (h.version, h.source, h.destination, len),
        (2, Some(v4.0), Some(v4.1), 28)
    );
    let v6 = (sa("[2001:db8::1]:1"), sa("[2001:db8::2]:587"));
    let buf = encode_v2(Some(v6));
    let (h, len) = parse(&buf).unwrap().unwrap();
    assert_eq!((h.source, h.destination, len), (Some(v6.0), Some(v6.1), 52));
    let (h, len) = parse(&encode_v2(None)).unwrap().unwrap();
    assert_eq!((h.source, h.destination, len), (None, None, 16));
}

#[test]
fn v2_local_ignores_addresses_and_tlvs_are_skipped() {
    let mut buf = encode_v2(Some((sa("192.0.2.10:1"), sa("192.0.2.20:2"))));
    buf[12] = 0x20; // LOCAL
    let (h, _) = parse(&buf).unwrap().unwrap();
    assert_eq!(h.source, None);
    // Append a TLV (type 0x04 NOOP, 3 bytes) and fix the length.
    let mut buf = encode_v2(Some((sa("192.0.2.10:1"), sa("192.0.2.20:2"))));
    buf.extend_from_slice(&[0x04, 0, 3, 1, 2, 3]);
    buf[15] = 18;
    buf.extend_from_slice(b"EHLO");
    let (h, len) = parse(&buf).unwrap().unwrap();
    assert_eq!(h.source, Some(sa("192.0.2.10:1")));
    assert_eq!(&buf[len..], b"EHLO");
    // UNIX sockets: no IP address to give.
    let mut unix = V2_SIGNATURE.to_vec();
    unix.extend_from_slice(&[0x21, 0x31, 0, 216]);
    unix.extend_from_slice(&[0u8; 216]);
    assert_eq!(parse(&unix).unwrap().unwrap().0.source, None);
}

#[test]
fn v2_refusals() {
    let mut buf = encode_v2(Some((sa("192.0.2.10:1"), sa("192.0.2.20:2"))));
    buf[12] = 0x11;
    assert_eq!(parse(&buf[..13]), Err(ProxyError::V2Version(1)));
    buf[12] = 0x22;
    assert_eq!(parse(&buf), Err(ProxyError::V2Command(2)));
    buf[12] = 0x21;
    buf[13] = 0x41;
    assert_eq!(parse(&buf[..14]), Err(ProxyError::V2Family(0x41)));
    buf[13] = 0x21; // claims IPv6 with a 12-byte block
    assert_eq!(parse(&buf), Err(ProxyError::V2Short));
    assert_eq!(parse(b"\r\n\r\n\0\r\nQUIX"), Err(ProxyError::NotProxy));
}

#[test]
fn prefixes_need_more() {
    let buf = encode_v2(Some((sa("192.0.2.10:1"), sa("192.0.2.20:2"))));
    for n in 0..buf.len() {
        assert_eq!(parse(&buf[..n]), Ok(None), "v2 prefix {n}");
    }
    let v1 = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
    for n in 0..v1.len() {
        assert_eq!(parse(&v1[..n]), Ok(None), "v1 prefix {n}");
    }
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(Ipv4Addr::from(ip).into(), p)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(Ipv6Addr::from(ip).into(), p)),
    ]
}

/// What a header says after the encoder maps mixed families to IPv6.
fn expected(a: Option<(SocketAddr, SocketAddr)>) -> (Option<SocketAddr>, Option<SocketAddr>) {
    match a {
        None => (None, None),
        Some((s @ SocketAddr::V4(_), d @ SocketAddr::V4(_))) => (Some(s), Some(d)),
        Some((s, d)) => {
            let v6 = |a: SocketAddr| SocketAddr::new(as_v6(a).into(), a.port());
            (Some(v6(s)), Some(v6(d)))
        }
    }
}

proptest! {
    #[test]
    fn encode_parse_round_trip(a in proptest::option::of((addr(), addr())), v2 in any::<bool>(), rest in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut buf = if v2 { encode_v2(a) } else { encode_v1(a).into_bytes() };
        let header_len = buf.len();
        buf.extend_from_slice(&rest);
        let (h, len) = parse(&buf).unwrap().unwrap();
        prop_assert_eq!(len, header_len);
        prop_assert_eq!((h.source, h.destination), expected(a));
        prop_assert_eq!(h.version, if v2 { 2 } else { 1 });
        for n in 0..header_len {
            prop_assert_eq!(parse(&buf[..n]), Ok(None));
        }
    }

    #[test]
    fn never_panics(buf in proptest::collection::vec(any::<u8>(), 0..200), v2 in any::<bool>()) {
        let mut input = if v2 { V2_SIGNATURE.to_vec() } else { V1_SIGNATURE.to_vec() };
        input.extend_from_slice(&buf);
        if let Ok(Some((_, len))) = parse(&input) {
            prop_assert!(len <= input.len());
        }
        let _ = parse(&buf);
    }
}
