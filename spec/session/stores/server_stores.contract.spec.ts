import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AdapterOptions, openBackend } from "../../../src/session/stores/adapters/index.js";
import { ServerStore } from "../../../src/session/stores/server_store.js";
import { SECRET } from "../../support/app.js";
import { type ServiceName, serviceUrl } from "../../support/services.js";
import { storeContract } from "../../support/store_contract.js";

// The shared contract on every server-side store, each on its real service.

const dir = mkdtempSync(join(tmpdir(), "stoat-contract-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const namespace = `contract-${Date.now().toString(36)}`;

const stores: [
  name: Parameters<typeof openBackend>[0],
  service: ServiceName | undefined,
  Partial<AdapterOptions>,
][] = [
  ["memory", undefined, {}],
  ["redis", "redis", { url: serviceUrl("redis"), namespace }],
  ["memcache", "memcache", { memcacheServer: serviceUrl("memcache"), namespace }],
  ["sqlite", undefined, { database: join(dir, "contract.sqlite3") }],
  ["postgres", "postgres", { url: serviceUrl("postgres"), namespace }],
  ["mysql", "mysql", { url: serviceUrl("mysql"), namespace }],
];

for (const [name, service, options] of stores) {
  storeContract(name, {
    service,
    make: async () => {
      const backend = await openBackend(name, { timeoutMs: 2000, ttlMs: 60_000, ...options });
      const store = new ServerStore(name, backend, {
        secrets: [SECRET],
        encrypt: true,
        serializer: "msgpack",
      });
      return { store, cleanup: () => backend.close() };
    },
  });
}
