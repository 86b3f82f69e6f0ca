import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { useBinary, useService } from "../support/services.js";
import { type AttackOrigin, type AttackServer, startAttacker } from "./support/attack_server.js";
import { CHROMIUM, clearResults, launchChromium, Steps } from "./support/browser.js";
import { type DemoServer, type DemoStore, startDemo } from "./support/demo_server.js";

// The demo page in a real browser, on the cookie store and on Redis: what supertest
// cannot show is what Chromium itself does with the cookie attributes, the flash and Cache-Control.

const KEY = "_stoat_demo_session";
/** A masked CSRF token: 64 bytes, base64url. */
const CSRF_TOKEN = /^[A-Za-z0-9_-]{86}$/;
/** What the browser holds for each store: an iron seal, or a 256-bit base64url id. */
const COOKIE_VALUE: Record<DemoStore, RegExp> = {
  cookie: /^Fe26\.2\*/,
  redis: /^[A-Za-z0-9_-]{43}$/,
};

describe("the demo app in Chromium", () => {
  let browser: Browser;

  before(async function () {
    useBinary(this, "chromium", { path: CHROMIUM });
    clearResults();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const store of ["cookie", "redis"] as const) {
    describe(`on the ${store} store`, () => {
      let server: DemoServer | undefined;
      let attacker: AttackServer | undefined;
      let context: BrowserContext;
      let page: Page;
      let steps: Steps;

      before(async function () {
        if (store === "redis") await useService(this, "redis");
        server = await startDemo(store);
        attacker = await startAttacker(server.url);
      });
      after(async () => {
        await attacker?.close();
        await server?.close();
      });

      beforeEach(async () => {
        context = await browser.newContext(); // a fresh profile: no cookie, no cache from another test
        page = await context.newPage();
        steps = new Steps(page);
      });
      afterEach(async function () {
        if (this.currentTest?.state === "failed") {
          const files = await steps.save(store, this.currentTest.title);
          console.warn(`[e2e] screenshots: ${files.join(", ")}`);
        }
        await context.close();
      });

      const text = (selector: string) => page.locator(selector).textContent();
      const visit = async (step: string) => {
        const response = await page.goto(`${server!.url}/`);
        expect(response?.status()).to.equal(200);
        await steps.shot(step);
      };
      const reload = async (step: string) => {
        await page.reload();
        await steps.shot(step);
      };
      /** Submits a form by its button; resolves with the response of the page the 303 lands on. */
      const submit = async (button: string, step: string) => {
        // The URL is "/" before and after, so waiting for the URL would not wait: wait for the new page's load.
        const [landed] = await Promise.all([
          page.waitForResponse((r) => r.url() === `${server!.url}/` && r.request().method() === "GET"),
          page.waitForEvent("load"),
          page.click(`button:text("${button}")`),
        ]);
        await steps.shot(step);
        return landed;
      };
      const signIn = async (name: string) => {
        await page.fill('input[name="name"]', name);
        return submit("Sign in", "signed-in");
      };

      it("counts visits across reloads", async () => {
        await visit("first-visit");
        expect(await text("#visits")).to.equal("1");
        await reload("second-visit");
        expect(await text("#visits")).to.equal("2");
        await reload("third-visit");
        expect(await text("#visits")).to.equal("3");
      });

      it("signs in: the flash shows once, the name stays", async () => {
        await visit("before-sign-in");
        await signIn("Ann <b>");
        expect(await text("#notice")).to.equal("Signed in as Ann <b>");
        expect(await text("#name")).to.equal("Ann <b>"); // escaped by the page, not markup
        expect(await text("#visits")).to.equal("2"); // cycleKey kept the data
        await reload("after-reload");
        expect(await page.locator("#notice").count()).to.equal(0);
        expect(await text("#name")).to.equal("Ann <b>");
        expect(await text("#visits")).to.equal("3");
      });

      it("keeps the session cookie HttpOnly and SameSite=Lax", async () => {
        await visit("first-visit");
        // Page scripts see no cookie at all (a string expression: the specs compile without the DOM lib).
        expect(await page.evaluate("document.cookie")).to.equal("");
        const cookies = await context.cookies();
        expect(cookies.map((c) => c.name)).to.deep.equal([KEY]);
        const cookie = cookies[0]!;
        expect(cookie.value).to.match(COOKIE_VALUE[store]);
        expect(cookie).to.include({ httpOnly: true, sameSite: "Lax", path: "/", secure: false });
        expect(cookie.domain).to.equal("127.0.0.1");
      });

      it("signs out to an empty session that the back button does not bring back", async () => {
        await visit("before-sign-in");
        const signedIn = await signIn("Bob");
        expect(await text("#name")).to.equal("Bob");
        expect(signedIn.headers()["cache-control"]).to.equal("private, no-store");
        await submit("Sign out", "signed-out");
        expect(await page.locator("#name").count()).to.equal(0);
        expect(await text("#visits")).to.equal("1");
        // Back to the signed-in page's history entry. Playwright turns Chromium's back/forward cache off, so
        // what is shown comes from the network or the HTTP cache; no-store (and Vary: Cookie) mean the
        // network: the page is fetched again with the new session's cookie, so it counts visit 2. A cached
        // copy would be the last one kept for "/", the signed-out page, still saying 1.
        await page.goBack();
        await steps.shot("after-back");
        expect(await page.locator("#name").count()).to.equal(0);
        expect(await text("#visits")).to.equal("2");
      });

      it("puts this session's CSRF token in the real forms, which sign in and out", async () => {
        await visit("before-sign-in");
        const signInToken = await page.inputValue(
          'form[action="/sign_in"] input[type="hidden"][name="_csrf"]',
        );
        expect(signInToken).to.match(CSRF_TOKEN);
        await signIn("Carol");
        expect(await text("#name")).to.equal("Carol");
        const signOutToken = await page.inputValue(
          'form[action="/sign_out"] input[type="hidden"][name="_csrf"]',
        );
        expect(signOutToken).to.match(CSRF_TOKEN);
        await submit("Sign out", "signed-out");
        expect(await page.locator("#name").count()).to.equal(0);
        expect(await page.locator('form[action="/sign_in"] input[name="_csrf"]').count()).to.equal(1);
      });

      /**
       * Opens the attacker's page, which posts its forged form to the demo at once; resolves when the demo
       * has answered that POST (403 with the protection; a 303 to "/" without it).
       */
      const attack = async (origin: AttackOrigin, path: "/sign_in" | "/sign_out") => {
        const [answer] = await Promise.all([
          page.waitForResponse((r) => r.url() === `${server!.url}${path}` && r.request().method() === "POST"),
          page.goto(attacker!.url(origin, path)),
        ]);
        await page.waitForLoadState("load");
        // The browser's own view of the forged request: whence it came, and whether the cookie went along.
        const request = await answer.request().allHeaders();
        expect(request.origin).to.equal(new URL(attacker!.url(origin, path)).origin);
        expect(request["sec-fetch-site"]).to.equal(origin);
        expect(request.cookie?.startsWith(`${KEY}=`) ?? false).to.equal(origin === "same-site");
        await steps.shot(`forged-${path.slice(1)}`);
        return answer;
      };
      /** The demo's cookie as the browser holds it: a write of any kind to the session would change it. */
      const sessionCookie = async () => (await context.cookies(server!.url)).find((c) => c.name === KEY);

      // The same-site attacker's POST carries the Lax session cookie, so without the protection it signs the
      // user out; the cross-site one's does not, but its response may still set one, so without the
      // protection it signs the browser in as Mallory. Each is refused on its Origin before the handler runs
      // (403, no Set-Cookie): the cookie the browser holds stays the same, and no redirect follows.
      for (const origin of ["same-site", "cross-site"] as const) {
        describe(`a forged form on a ${origin} origin`, () => {
          it("cannot sign the browser in as the attacker (login CSRF)", async () => {
            await visit("before-attack");
            const before = await sessionCookie();
            expect(before?.value).to.match(COOKIE_VALUE[store]);
            const answer = await attack(origin, "/sign_in");
            expect(answer.status()).to.equal(403);
            expect(answer.headers()["set-cookie"]).to.equal(undefined);
            expect(await sessionCookie()).to.deep.equal(before);
            await visit("after-attack");
            expect(await page.locator("#name").count()).to.equal(0);
            expect(await page.locator("#notice").count()).to.equal(0);
            expect(await text("#visits")).to.equal("2"); // the victim's own session, still there
          });

          it("cannot sign a signed-in user out", async () => {
            await visit("before-sign-in");
            await signIn("Dan");
            expect(await text("#name")).to.equal("Dan");
            const before = await sessionCookie();
            expect(before?.value).to.match(COOKIE_VALUE[store]);
            const answer = await attack(origin, "/sign_out");
            expect(answer.status()).to.equal(403);
            expect(answer.headers()["set-cookie"]).to.equal(undefined);
            expect(await sessionCookie()).to.deep.equal(before);
            await visit("after-attack");
            expect(await text("#name")).to.equal("Dan");
            expect(await text("#visits")).to.equal("3");
          });
        });
      }
    });
  }
});
