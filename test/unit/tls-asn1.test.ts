/**
 * The DER encoder against known encodings (X.690 examples and values
 * OpenSSL produces), including the edge cases certificates hit: sign bits,
 * long lengths, multi-byte OID arcs, UTCTime vs GeneralizedTime.
 */
import t from 'tap';
import * as asn1 from '../../src/tls/asn1';

t.test('encodings', async (t) => {
  const cases: { name: string; der: Buffer; hex: string }[] = [
    { name: 'integer 0', der: asn1.integer(0), hex: '020100' },
    { name: 'integer 2 (v3)', der: asn1.integer(2), hex: '020102' },
    { name: 'integer 127', der: asn1.integer(127), hex: '02017f' },
    { name: 'integer 128 gets a sign byte', der: asn1.integer(128), hex: '02020080' },
    { name: 'integer 256', der: asn1.integer(256), hex: '02020100' },
    { name: 'integer bytes, leading zeros dropped', der: asn1.integer(Buffer.from('00007f', 'hex')), hex: '02017f' },
    { name: 'integer bytes, high bit', der: asn1.integer(Buffer.from('ff01', 'hex')), hex: '020300ff01' },
    { name: 'OID commonName', der: asn1.oid('2.5.4.3'), hex: '0603550403' },
    { name: 'OID ecdsa-with-SHA256', der: asn1.oid('1.2.840.10045.4.3.2'), hex: '06082a8648ce3d040302' },
    { name: 'OID serverAuth', der: asn1.oid('1.3.6.1.5.5.7.3.1'), hex: '06082b06010505070301' },
    { name: 'boolean true', der: asn1.boolean(true), hex: '0101ff' },
    { name: 'UTCTime', der: asn1.time(new Date('2026-11-23T11:03:25.123Z')), hex: '170d' + Buffer.from('261123110325Z').toString('hex') },
    { name: 'GeneralizedTime from 2050', der: asn1.time(new Date('2050-01-01T00:00:00Z')), hex: '180f' + Buffer.from('20500101000000Z').toString('hex') },
    { name: 'bit string with unused bits', der: asn1.bitString(Buffer.from([0x80]), 7), hex: '03020780' },
    { name: 'empty sequence', der: asn1.sequence(), hex: '3000' },
    { name: 'long length (200 bytes)', der: asn1.octetString(Buffer.alloc(200)), hex: '0481c8' + '00'.repeat(200) },
    { name: 'long length (300 bytes)', der: asn1.octetString(Buffer.alloc(300)), hex: '0482012c' + '00'.repeat(300) },
    { name: 'explicit [0]', der: asn1.explicit(0, asn1.integer(2)), hex: 'a003020102' },
    { name: 'implicit [2] dNSName', der: asn1.implicit(2, Buffer.from('a.b')), hex: '8203612e62' },
  ];
  for (const c of cases) t.equal(c.der.toString('hex'), c.hex, c.name);
});
