import { getEnv } from "../../env";
import { getDb } from "../db";
import { getTrpcSessionUser } from "../session";
import type { TrpcContext } from "./init";

/** Context for HTTP calls and server components: the process's database, the session user and the reader lease. */
export async function createTrpcContext(): Promise<TrpcContext> {
  const [db, user] = await Promise.all([getDb(), getTrpcSessionUser()]);
  return { db, user, readerLeaseMs: getEnv().readerLeaseMs };
}
