/**
 * Content sniffing in the spirit of the WHATWG MIME Sniffing standard (what
 * Go's http.DetectContentType, and so Traefik, implements): magic numbers,
 * HTML and XML openings, and text versus binary.
 */
const MAGIC: [string | number[], string][] = [
  ['%PDF-', 'application/pdf'],
  ['%!PS-Adobe-', 'application/postscript'],
  [[0xfe, 0xff], 'text/plain; charset=utf-16be'],
  [[0xff, 0xfe], 'text/plain; charset=utf-16le'],
  [[0xef, 0xbb, 0xbf], 'text/plain; charset=utf-8'],
  ['GIF87a', 'image/gif'],
  ['GIF89a', 'image/gif'],
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  ['BM', 'image/bmp'],
  [[0x00, 0x00, 0x01, 0x00], 'image/x-icon'],
  ['OggS\x00', 'application/ogg'],
  ['ID3', 'audio/mpeg'],
  ['wOFF', 'font/woff'],
  ['wOF2', 'font/woff2'],
  [[0x1f, 0x8b, 0x08], 'application/x-gzip'],
  ['PK\x03\x04', 'application/zip'],
  [[0x00, 0x61, 0x73, 0x6d], 'application/wasm'],
];

const HTML_TAGS = ['!DOCTYPE HTML', 'HTML', 'HEAD', 'SCRIPT', 'IFRAME', 'H1', 'DIV', 'FONT', 'TABLE', 'A', 'STYLE', 'TITLE', 'B', 'BODY', 'BR', 'P', '!--'];

const startsWith = (data: Buffer, sig: string | number[]): boolean => {
  const bytes = typeof sig === 'string' ? Buffer.from(sig, 'latin1') : Buffer.from(sig);
  return data.length >= bytes.length && data.subarray(0, bytes.length).equals(bytes);
};

export function sniffContentType(data: Buffer): string {
  const head = data.subarray(0, 512);
  if (head.length >= 12 && startsWith(head, 'RIFF')) {
    const kind = head.subarray(8, 12).toString('latin1');
    if (kind === 'WEBP') return 'image/webp';
    if (kind === 'WAVE') return 'audio/wave';
    if (kind === 'AVI ') return 'video/avi';
  }
  for (const [sig, type] of MAGIC) if (startsWith(head, sig)) return type;
  const text = head.toString('latin1').replace(/^[\t\n\f\r ]+/, '');
  const upper = text.toUpperCase();
  for (const tag of HTML_TAGS) {
    if (upper.startsWith(`<${tag}`)) {
      const after = upper.charAt(tag.length + 1);
      if (after === ' ' || after === '>' || (tag === '!--' && after !== '')) return 'text/html; charset=utf-8';
    }
  }
  if (text.startsWith('<?xml')) return 'text/xml; charset=utf-8';
  const binary = head.some((b) => b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f));
  return binary ? 'application/octet-stream' : 'text/plain; charset=utf-8';
}
