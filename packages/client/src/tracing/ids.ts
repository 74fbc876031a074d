// OpenTelemetry ids (16-byte trace ids, 8-byte span ids) as lower-case hex, made at random, and the
// base64 form MLflow's JSON gives them. Uses only globals that Node 20 and browsers share.

function bytesToHex(bytes: Uint8Array): string {
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** A random id of `bytes` bytes; never all zeros, which OpenTelemetry reserves for "no id". */
export function randomId(bytes: 8 | 16): string {
  const buf = new Uint8Array(bytes);
  do crypto.getRandomValues(buf);
  while (buf.every((b) => b === 0));
  return bytesToHex(buf);
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function hexToBase64(hex: string): string {
  return btoa(String.fromCharCode(...hexToBytes(hex)));
}

/** Hex of a base64 id; a value that is already hex (OTLP/JSON's form) is returned as it is. */
export function base64ToHex(value: string): string {
  if (/^[0-9a-f]{16}$|^[0-9a-f]{32}$/.test(value)) return value;
  const raw = atob(value);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytesToHex(bytes);
}

/** Nanoseconds since the epoch, with the sub-millisecond part performance.now() gives. */
export function nowNs(): bigint {
  const ms = performance.timeOrigin + performance.now();
  return BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6));
}
