import NextAuth, { type NextAuthRequest } from "next-auth";
import { type NextFetchEvent, type NextRequest, NextResponse } from "next/server";
import { baseAuthConfig } from "./auth.config";

// Proxy (Next 16's middleware) only decodes the session cookie: no database, no credentials provider.
const { auth } = NextAuth(() => baseAuthConfig());

function guard(request: NextAuthRequest): Response {
  if (request.auth?.user?.id) return NextResponse.next();
  const url = request.nextUrl.clone();
  url.pathname = "/sign-in";
  url.search = "";
  const back = request.nextUrl.pathname + request.nextUrl.search;
  if (back !== "/") url.searchParams.set("callbackUrl", back);
  return NextResponse.redirect(url);
}

type Handler = (request: NextRequest, event: NextFetchEvent) => Promise<Response>;

/**
 * With a lazy Auth.js config, `auth(wrapper)` resolves to the handler asynchronously, so it is
 * awaited inside this async function rather than exported directly.
 */
export async function proxy(request: NextRequest, event: NextFetchEvent): Promise<Response> {
  const handler = await (auth(guard) as unknown as Promise<Handler> | Handler);
  return handler(request, event);
}

export const config = {
  // API routes check the session themselves (tRPC answers UNAUTHORIZED, /api/files 401).
  matcher: ["/((?!api/|_next/static|_next/image|favicon.ico|osd-images/|sign-in).*)"],
};
