import { escapeHtml, Handler } from "stoat";

/** The demo page: a visit counter, sign-in (with cycleKey and a flash) and sign-out (flush). */
export class HomeHandler extends Handler {
  async index() {
    const visits = Number(this.session.get("visits") ?? "0") + 1;
    this.session.set("visits", String(visits));
    const name = this.session.get("name");
    const notice = this.flash.get("notice");
    this.html(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Stoat</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}
.notice{background:#e8f5e9;border:1px solid #a5d6a7;padding:.5rem 1rem;border-radius:4px}</style></head>
<body>
<h1>Stoat</h1>
${notice ? `<p class="notice" id="notice">${escapeHtml(notice)}</p>` : ""}
<p>You have visited this page <strong id="visits">${visits}</strong> time${visits === 1 ? "" : "s"} in this session.</p>
${
  name
    ? `<p>Signed in as <strong id="name">${escapeHtml(name)}</strong>.</p>
<form method="post" action="/sign_out">${this.csrfField()}<button type="submit">Sign out</button></form>`
    : `<form method="post" action="/sign_in">${this.csrfField()}
<label>Name <input name="name" required maxlength="100" autocomplete="username"></label>
<button type="submit">Sign in</button></form>`
}
</body>
</html>
`);
  }

  async signIn() {
    const name = (this.params.name ?? "").trim().slice(0, 100);
    if (!name) {
      this.flash.set("notice", "Please enter a name");
      return this.redirect("/", { status: 303 });
    }
    this.session.cycleKey(); // a new id on sign-in: a planted session is worth nothing (fixation)
    this.session.set("name", name);
    this.flash.set("notice", `Signed in as ${name}`);
    this.redirect("/", { status: 303 });
  }

  async signOut() {
    this.session.flush(); // drops everything; the response clears the cookie
    this.redirect("/", { status: 303 });
  }
}
