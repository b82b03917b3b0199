import { TRPCError } from "@trpc/server";
import { forbidden, notFound, redirect } from "next/navigation";
import { cache } from "react";
import { getSessionState } from "../server/session";
import { DISABLED_SIGN_IN_PATH, passwordChangeRedirect } from "../server/session-state";
import { createTrpcContext } from "../server/trpc/context";
import { createCaller } from "../server/trpc/root";

/** The tRPC router called directly from server components (one context per request). */
export const serverApi = cache(async () => createCaller(await createTrpcContext()));

/** Runs a server-side call and turns auth / lookup failures into the matching page response. */
export async function load<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TRPCError) {
      // A session cookie whose user is disabled lands on a sign-in page that says so.
      if (error.code === "UNAUTHORIZED") redirect((await getSessionState()).status === "disabled" ? DISABLED_SIGN_IN_PATH : "/sign-in");
      if (error.code === "NOT_FOUND") notFound();
      if (error.code === "FORBIDDEN") {
        // A one-time password still in use: the only page this session may open is the change-password page.
        const change = passwordChangeRedirect(await getSessionState());
        if (change) redirect(change);
        forbidden();
      }
    }
    throw error;
  }
}
