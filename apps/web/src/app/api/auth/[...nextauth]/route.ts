import type { NextRequest } from "next/server";
import { handlers } from "../../../../auth";
import { clientAddress, getSignInLimiter } from "../../../../server/sign-in-limit";

export const { GET } = handlers;

/**
 * A credentials sign-in posted straight to Auth.js is answered 429 (with Retry-After) while its account
 * or address is over the failure limit, before any password check. The sign-in form goes through a
 * server action instead, which cannot set a status: authorize() refuses there and the form says why.
 */
export async function POST(request: NextRequest): Promise<Response> {
  if (request.nextUrl.pathname.endsWith("/callback/credentials")) {
    const form = await request
      .clone()
      .formData()
      .catch(() => null);
    const email = form?.get("email");
    const gate = await (await getSignInLimiter()).check(typeof email === "string" ? email : "", clientAddress(request.headers));
    if (!gate.allowed) {
      return new Response("Too many failed sign-ins. Try again later.", {
        status: 429,
        headers: {
          "retry-after": String(gate.retryAfterSeconds),
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-store",
        },
      });
    }
  }
  return handlers.POST(request);
}
