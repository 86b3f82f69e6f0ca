import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

// A page on another origin that forges the demo's forms, as an attacker's site would: opened in the victim's
// browser, it posts straight to the demo and the browser attaches whatever cookies it would send. Served on
// 127.0.0.1 only, on a port of its own; the browser reaches it under two names, which are two kinds of
// attacker (a site is the scheme and registrable host, without the port):
// - http://127.0.0.1:PORT: another origin on the same site as the demo (http://127.0.0.1:DEMO_PORT), so a
//   SameSite=Lax cookie still goes along with its POST, as it would from a sibling subdomain;
// - http://localhost:PORT: another site, whose POST navigation carries no Lax cookie, but whose response
//   may still set one (login CSRF).

export type AttackOrigin = "same-site" | "cross-site";

/** The host the browser is sent to for each kind of attacker. */
const HOSTS: Record<AttackOrigin, string> = { "same-site": "127.0.0.1", "cross-site": "localhost" };

/** The forged forms: the demo's path, and the fields the attacker fills in (never a `_csrf`: it has none). */
const FORMS: Record<string, Record<string, string>> = {
  "/sign_in": { name: "Mallory" },
  "/sign_out": {},
};

export interface AttackServer {
  /** The attack page forging `POST <target><path>`, on the chosen origin. */
  url(origin: AttackOrigin, path: keyof typeof FORMS): string;
  close(): Promise<void>;
}

const attribute = (text: string) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/** Starts the attacker's server for the demo at `target` (http://127.0.0.1:PORT). */
export async function startAttacker(target: string): Promise<AttackServer> {
  const server = createServer((req, res) => {
    const fields = Object.hasOwn(FORMS, req.url ?? "") ? FORMS[req.url!] : undefined;
    if (req.method !== "GET" || fields === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const inputs = Object.entries(fields)
      .map(([name, value]) => `<input type="hidden" name="${attribute(name)}" value="${attribute(value)}">`)
      .join("");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head><body>
<form method="post" action="${attribute(target + req.url)}">${inputs}<button>Claim</button></form>
<script>document.forms[0].submit()</script>
</body></html>`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve); // loopback only; port 0: the kernel picks a free one
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: (origin, path) => `http://${HOSTS[origin]}:${port}${path}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections(); // the browser's keep-alive sockets would hold close() open
      }),
  };
}
