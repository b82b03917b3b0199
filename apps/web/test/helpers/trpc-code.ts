import { TRPCError } from "@trpc/server";

/** The tRPC error code a call ends with ("OK" when it resolves); any other error is rethrown. */
export async function trpcCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
  return "OK";
}
