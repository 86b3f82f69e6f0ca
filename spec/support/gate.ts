import { expect } from "chai";
import type { Response } from "supertest";
import { cookieValue, setCookieFor } from "./app.js";

/**
 * Holds requests in flight: a handler awaits `enter()`, the spec waits for `started(n)`, acts meanwhile
 * (a sign-out, a concurrent write), then `release()`s them. Destroy-wins and merge specs are built on it.
 */
export class Gate {
  #entered = 0;
  #waiting: (() => void)[] = [];
  #release!: () => void;
  readonly released = new Promise<void>((resolve) => {
    this.#release = resolve;
  });

  enter(): Promise<void> {
    this.#entered++;
    for (const wake of this.#waiting.splice(0)) wake();
    return this.released;
  }

  /** Resolves once `count` requests are waiting. */
  async started(count = 1): Promise<void> {
    while (this.#entered < count) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    this.#release();
  }
}

/**
 * Sends `request` and resolves once its handler waits at `gate`: the spec acts meanwhile, releases the gate,
 * then awaits `answer`.
 */
export async function heldAt(
  gate: Gate,
  request: PromiseLike<Response>,
): Promise<{ answer: Promise<Response> }> {
  const answer = Promise.resolve(request);
  await gate.started();
  return { answer };
}

/**
 * Lets `requests` (held at the gate) go at once and checks the cycleKey race's common outcome: all answer
 * 200 and exactly one sends a Set-Cookie (the winner's new id; the others send none, so the browser keeps
 * it). Returns the answers, the winner and its new id.
 */
export async function raceCycleKeys(
  gate: Gate,
  requests: PromiseLike<Response>[],
): Promise<{ responses: Response[]; winner: Response; fresh: string }> {
  const pending = requests.map((r) => Promise.resolve(r));
  await gate.started(requests.length);
  gate.release();
  const responses = await Promise.all(pending);
  expect(responses.map((r) => r.status)).to.deep.equal(responses.map(() => 200));
  const moved = responses.filter((r) => setCookieFor(r) !== undefined);
  expect(moved, "exactly one response sets a cookie").to.have.length(1);
  return { responses, winner: moved[0]!, fresh: cookieValue(moved[0]!)! };
}
