// client_id for a message: crypto.randomUUID needs a secure context, and a
// LAN address over plain http is not one: fall back to getRandomValues.
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
