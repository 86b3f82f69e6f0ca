import { createRequire } from "node:module";
import { newSessionId } from "../../../../src/session/ids.js";
import { resolveSessionOptions } from "../../../../src/session/options.js";
import { databaseStoreFactory } from "../../../../src/session/stores/database/factory.js";
import type { ServerStore } from "../../../../src/session/stores/server_store.js";
import { SECRET } from "../../../support/app.js";

// Run by database_driver.spec.ts in a process of its own: the `database` store on an installed table, as
// an app builds it, loads, saves, cycles and destroys a session, then prints how many of Knex's modules
// were loaded by then, and again after app.sessions was used (which does use Knex).

const [url, table] = process.argv.slice(2) as [string, string];
const knexModules = () =>
  Object.keys(createRequire(import.meta.url).cache).filter((path) =>
    /[/\\]node_modules[/\\]knex[/\\]/.test(path),
  ).length;

const options = resolveSessionOptions({ secret: SECRET }, databaseStoreFactory.rules, [SECRET]);
const store = (await databaseStoreFactory.create(
  options,
  { url, table },
  { clock: Date.now },
)) as ServerStore;
const now = Date.now();
const record = { data: new Map([["user_id", "7"]]), flash: new Map(), createdAt: now };
const id = newSessionId();
await store.save(record, now + 60_000, id, now, {
  existing: false,
  changes: { data: new Map(), cleared: false },
});
const loaded = await store.load(id, now);
if (!loaded || !("record" in loaded)) throw new Error("the session was not read back");
loaded.record.data.set("a", "1");
await store.save(loaded.record, now + 60_000, id, now, {
  existing: true,
  changes: { data: new Map([["a", "1"]]), cleared: false },
});
const moved = newSessionId();
await store.save(loaded.record, now + 60_000, moved, now, {
  existing: true,
  replacing: id,
  changes: { data: new Map(), cleared: false },
});
await store.destroy(moved);
const onRequestPath = knexModules();
await store.admin!.listForUser("7");
const afterAdmin = knexModules();
await store.close();
console.log(JSON.stringify({ onRequestPath, afterAdmin }));
