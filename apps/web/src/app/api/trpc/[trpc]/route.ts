import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createTrpcContext } from "../../../../server/trpc/context";
import { appRouter } from "../../../../server/trpc/root";

export const dynamic = "force-dynamic";

function handler(request: Request) {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: createTrpcContext,
    // No onError logging here: unexpected errors are logged once, with their correlation id, in trpc/init.ts.
  });
}

export { handler as GET, handler as POST };
