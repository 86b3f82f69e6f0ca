import type { SessionStore } from "stoat";
import { resolveSessionOptions } from "../../../../src/session/options.js";
import { databaseStoreFactory } from "../../../../src/session/stores/database/factory.js";
import { SECRET } from "../../../support/app.js";
import { storeContract } from "../../../support/store_contract.js";
import { DIALECTS, dropTables, rawDatabase, uniqueTable } from "./dialects.js";

// The shared store contract on the `database` store, on each dialect's real database.

for (const dialect of DIALECTS) {
  const table = uniqueTable("contract");
  let installed = false;
  after(async function () {
    this.timeout(10000);
    if (!installed) return;
    const db = rawDatabase(dialect);
    await dropTables(db, [table]).finally(() => db.destroy());
  });

  storeContract(`database (${dialect.name})`, {
    service: dialect.service,
    make: async () => {
      const given = { url: dialect.url, table };
      const options = resolveSessionOptions({ secret: SECRET }, databaseStoreFactory.rules, [SECRET]);
      const store = (await databaseStoreFactory.create(options, given, { clock: Date.now })) as SessionStore;
      if (!installed) {
        await store.admin!.install();
        installed = true;
      }
      return { store, cleanup: () => store.close!() };
    },
  });
}
