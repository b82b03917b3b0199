import { describe, expect, it } from "vitest";
import { resolveAuthRedirect, safeCallbackUrl } from "../src/server/callback-url";

describe("safeCallbackUrl: only same-origin relative paths", () => {
  it.each(["/", "/projects/aml?tab=cells#top", "/projects/a%20b", "/sign-in?callbackUrl=%2Fprojects"])("keeps %s", (url) => {
    expect(safeCallbackUrl(url)).toBe(url);
  });

  it.each([
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2Fevil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/\t/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "/javascript:alert(1)\n",
    "https://evil.example/projects",
    "http://localhost:3000/projects",
    "evil.example",
    "projects",
    "/%E0%A4%A",
    "/%09/evil.example",
    "",
  ])("refuses %j", (url) => {
    expect(safeCallbackUrl(url)).toBe("/");
  });

  it("refuses overlong values", () => {
    expect(safeCallbackUrl("/" + "a".repeat(3000))).toBe("/");
  });

  it("refuses non-strings and uses the given fallback", () => {
    expect(safeCallbackUrl(undefined)).toBe("/");
    expect(safeCallbackUrl(["/a"])).toBe("/");
    expect(safeCallbackUrl("//evil", "/home")).toBe("/home");
  });

  it("normalises dot segments instead of following them elsewhere", () => {
    expect(safeCallbackUrl("/a/../b")).toBe("/b");
  });
});

describe("resolveAuthRedirect (Auth.js redirect callback)", () => {
  const base = "http://localhost:3000";
  it("keeps our own paths and same-origin absolute URLs", () => {
    expect(resolveAuthRedirect("/projects/aml", base)).toBe("http://localhost:3000/projects/aml");
    expect(resolveAuthRedirect("http://localhost:3000/projects?x=1", base)).toBe("http://localhost:3000/projects?x=1");
  });
  it("sends everything else to the start page", () => {
    for (const url of ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "http://localhost:3001/"]) {
      expect(resolveAuthRedirect(url, base)).toMatch(/^http:\/\/localhost:3000\/?$/);
    }
  });
});
