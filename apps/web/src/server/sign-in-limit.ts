import type { DbOrTx } from "@hemaloop/db/client";
import { signInAttempt } from "@hemaloop/db/schema";
import { RateLimiterDrizzle } from "rate-limiter-flexible";
import { getEnv } from "../env";
import { getDb } from "./db";

export type SignInLimits = {
  /** Failed sign-ins for one account within a window before further tries are refused unchecked. */
  accountFailures: number;
  /** Failed sign-ins from one client address within a window (any accounts). */
  ipFailures: number;
  windowSeconds: number;
};

export type SignInGate = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export type SignInLimiter = {
  /** Whether a try may go on to the password check (reads only; consumes nothing). */
  check(email: string, ip: string | null): Promise<SignInGate>;
  recordFailure(email: string, ip: string | null): Promise<void>;
  /** A right password clears the account's count (the address keeps its count: it may be guessing many accounts). */
  recordSuccess(email: string): Promise<void>;
};

const accountKey = (email: string) => email.trim().toLowerCase();

/**
 * Failed-sign-in counters in the database (table sign_in_attempt, created by our migration), so every
 * web replica sees the same counts. Fixed window from the first failure.
 */
export function createSignInLimiter(db: DbOrTx, limits: SignInLimits): SignInLimiter {
  const common = { storeClient: db, schema: signInAttempt, duration: limits.windowSeconds, clearExpiredByTimeout: true };
  const byAccount = new RateLimiterDrizzle({ ...common, keyPrefix: "account", points: limits.accountFailures });
  const byIp = new RateLimiterDrizzle({ ...common, keyPrefix: "ip", points: limits.ipFailures });
  return {
    async check(email, ip) {
      const [account, address] = await Promise.all([byAccount.get(accountKey(email)), ip ? byIp.get(ip) : null]);
      const blocked = [
        account && account.consumedPoints >= limits.accountFailures ? account : null,
        address && address.consumedPoints >= limits.ipFailures ? address : null,
      ].filter((r) => r !== null);
      if (blocked.length === 0) return { allowed: true };
      const ms = Math.max(...blocked.map((r) => r.msBeforeNext));
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) };
    },
    async recordFailure(email, ip) {
      await Promise.all([byAccount.penalty(accountKey(email), 1), ip ? byIp.penalty(ip, 1) : null]);
    },
    async recordSuccess(email) {
      await byAccount.delete(accountKey(email));
    },
  };
}

const store = globalThis as unknown as { __hemaloopSignInLimiter?: Promise<SignInLimiter> };

/** The process's limiter over the app database, with limits from the environment. */
export function getSignInLimiter(): Promise<SignInLimiter> {
  store.__hemaloopSignInLimiter ??= getDb().then((db) => createSignInLimiter(db, getEnv().signInLimits));
  return store.__hemaloopSignInLimiter;
}

/**
 * The client address for per-address counting: the first x-forwarded-for entry (set by Next's server or
 * the reverse proxy in front of it), else x-real-ip. A client can forge it when nothing in front rewrites
 * it; the per-account limit holds regardless.
 */
export function clientAddress(headers: Headers): string | null {
  const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  const ip = forwarded || headers.get("x-real-ip")?.trim();
  return ip ? ip.slice(0, 100) : null;
}

/**
 * "Too many failed sign-ins" with how long to wait, rounded up so the try after the wait is not refused
 * again: seconds under a minute, else whole minutes.
 */
export function describeSignInLock(retryAfterSeconds: number): string {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  const wait =
    seconds < 60 ? `${seconds} second${seconds === 1 ? "" : "s"}` : `${Math.ceil(seconds / 60)} minute${seconds <= 60 ? "" : "s"}`;
  return `Too many failed sign-ins. Try again in ${wait}.`;
}
