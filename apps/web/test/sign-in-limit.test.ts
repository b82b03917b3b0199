import { signInAttempt } from "@hemaloop/db/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { clientAddress, createSignInLimiter, describeSignInLock } from "../src/server/sign-in-limit";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDb("sign-in rate limit (state in the database)", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t?.close());

  it("refuses an account after N failures, for every replica, until the window ends", async () => {
    const limits = { accountFailures: 3, ipFailures: 100, windowSeconds: 2 };
    const replicaA = createSignInLimiter(t.db, limits);
    const replicaB = createSignInLimiter(t.db, limits); // another web process over the same database
    for (let i = 0; i < 3; i++) {
      expect(await replicaA.check("Ann@Example.org", "10.0.0.1")).toEqual({ allowed: true });
      await (i % 2 ? replicaA : replicaB).recordFailure("ann@example.org", `10.0.0.${i}`);
    }
    const gate = await replicaB.check("ann@example.org ", "10.9.9.9");
    expect(gate.allowed).toBe(false);
    expect(gate.allowed ? 0 : gate.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await replicaA.check("bob@example.org", "10.0.0.1")).toEqual({ allowed: true });
    const rows = await t.db.select().from(signInAttempt);
    expect(rows.find((r) => r.key === "account:ann@example.org")?.points).toBe(3);

    await sleep(2100);
    expect(await replicaA.check("ann@example.org", null)).toEqual({ allowed: true });
  });

  it("a success clears the account's count; the address keeps its own", async () => {
    const limiter = createSignInLimiter(t.db, { accountFailures: 2, ipFailures: 3, windowSeconds: 60 });
    await limiter.recordFailure("cy@example.org", "10.1.1.1");
    await limiter.recordSuccess("cy@example.org");
    await limiter.recordFailure("cy@example.org", "10.1.1.1");
    expect(await limiter.check("cy@example.org", "10.2.2.2")).toEqual({ allowed: true });
    await limiter.recordFailure("dee@example.org", "10.1.1.1");
    // Third failure from 10.1.1.1 across accounts: that address is refused, others are not.
    expect((await limiter.check("new@example.org", "10.1.1.1")).allowed).toBe(false);
    expect(await limiter.check("new@example.org", "10.3.3.3")).toEqual({ allowed: true });
  });
});

it("reads the client address from forwarding headers", () => {
  expect(clientAddress(new Headers({ "x-forwarded-for": "203.0.113.5, 10.0.0.1" }))).toBe("203.0.113.5");
  expect(clientAddress(new Headers({ "x-real-ip": "203.0.113.6" }))).toBe("203.0.113.6");
  expect(clientAddress(new Headers())).toBeNull();
});

describe("describeSignInLock", () => {
  it("says how long to wait, rounded up: seconds under a minute, then whole minutes", () => {
    expect(describeSignInLock(1)).toBe("Too many failed sign-ins. Try again in 1 second.");
    expect(describeSignInLock(19.2)).toBe("Too many failed sign-ins. Try again in 20 seconds.");
    expect(describeSignInLock(60)).toBe("Too many failed sign-ins. Try again in 1 minute.");
    expect(describeSignInLock(61)).toBe("Too many failed sign-ins. Try again in 2 minutes.");
    expect(describeSignInLock(900)).toBe("Too many failed sign-ins. Try again in 15 minutes.");
    expect(describeSignInLock(0)).toBe("Too many failed sign-ins. Try again in 1 second.");
  });
});
