import { describe, expect, it } from "vitest";
import { isDemoMode, isLoopbackHost, resolveStartOptions } from "../src/runtime-config";

describe("npm start options", () => {
  it("is the product by default: no demo, web app on loopback", () => {
    expect(resolveStartOptions([], {})).toEqual({ demo: false, host: "127.0.0.1", port: 3000, dbPort: 54329, startTrainer: true });
  });

  it("ignores HOSTNAME (shells and containers export the machine name) and binds where HEMALOOP_HOST says", () => {
    expect(resolveStartOptions([], { HOSTNAME: "build-box" }).host).toBe("127.0.0.1");
    expect(resolveStartOptions([], { HEMALOOP_HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
    expect(resolveStartOptions([], { HEMALOOP_HOST: "" }).host).toBe("127.0.0.1");
    expect(() => resolveStartOptions([], { HEMALOOP_HOST: "0.0.0.0 --inspect" })).toThrow(/HEMALOOP_HOST/);
  });

  it("turns demo mode on only when asked: --demo or HEMALOOP_DEMO=1", () => {
    expect(resolveStartOptions(["--demo"], {}).demo).toBe(true);
    expect(resolveStartOptions([], { HEMALOOP_DEMO: "1" }).demo).toBe(true);
    expect(resolveStartOptions([], { HEMALOOP_DEMO: "0" }).demo).toBe(false);
    expect(() => resolveStartOptions([], { HEMALOOP_DEMO: "yes" })).toThrow(/HEMALOOP_DEMO/);
    expect(() => resolveStartOptions(["--dmeo"], {})).toThrow(/unknown argument --dmeo/);
    expect(isDemoMode(["create-admin"], { HEMALOOP_DEMO: "" })).toBe(false);
  });

  it("reads ports and the trainer switch", () => {
    expect(resolveStartOptions([], { PORT: "3100", HEMALOOP_DB_PORT: "6000", HEMALOOP_NO_TRAINER: "1" })).toMatchObject({
      port: 3100,
      dbPort: 6000,
      startTrainer: false,
    });
    expect(() => resolveStartOptions([], { PORT: "70000" })).toThrow(/PORT/);
  });

  it("tells loopback addresses from the others", () => {
    expect(["127.0.0.1", "127.0.1.1", "localhost", "::1"].every(isLoopbackHost)).toBe(true);
    expect(["0.0.0.0", "::", "192.168.1.5", "example.org"].some(isLoopbackHost)).toBe(false);
  });
});
