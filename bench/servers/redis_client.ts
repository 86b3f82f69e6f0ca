// The node-redis client of every Redis peer and bare handler: redis is pinned to the @redis/client Stoat's
// redis store uses through @keyv/redis (the report shows both), so the client is not what differs.

import { createClient } from "redis";
import { REDIS_URL } from "./serve.js";

export async function redisClient() {
  const client = createClient({ url: REDIS_URL });
  client.on("error", (error: Error) => console.error(`redis: ${error.message}`));
  await client.connect();
  return client;
}

export type Redis = Awaited<ReturnType<typeof redisClient>>;
