// Keeps this browser's lossviz cookies: the seat secret of the class quiz and the
// teacher keys of the rooms this browser opened (lossviz/ui/browser_identity.py).
//
// The server reads cookies only from the request that opens a session (a reload, a
// reconnect after a server restart), and Streamlit cannot set one, so this element
// writes them: data = {cookies: [{name, value, max_age, path}]}. Names and values are
// checked on the server (letters, digits, "_" and "-" only); the element renders nothing.
// Cookies are SameSite=Strict, and Secure on https.

function parse(raw) {
  return raw instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(raw)) : raw;
}

function current(name) {
  const prefix = `${name}=`;
  const found = document.cookie.split("; ").find((pair) => pair.startsWith(prefix));
  return found === undefined ? null : found.slice(prefix.length);
}

export default function (component) {
  const data = parse(component.data) ?? {};
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  for (const cookie of data.cookies ?? []) {
    if (current(cookie.name) === cookie.value) continue;
    document.cookie =
      `${cookie.name}=${cookie.value}; Max-Age=${cookie.max_age}; ` +
      `Path=${cookie.path}; SameSite=Strict${secure}`;
  }
  return undefined;
}
