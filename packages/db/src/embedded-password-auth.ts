import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";

/*
 * pglite-socket has no authentication: PGlite answers every StartupMessage with AuthenticationOk, so any
 * local user could open the embedded database. This runs the PostgreSQL MD5 password exchange on each
 * new connection before the library sees it (MD5 rather than cleartext: the password never crosses the
 * socket, and the random salt makes a captured answer useless on the next connection). Only after the
 * right password is the connection handed to pglite-socket, with the client's StartupMessage replayed so
 * PGlite sends AuthenticationOk and the session parameters as usual.
 */

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** A client that has not authenticated by then is dropped, so idle sockets cannot pin connection slots. */
const AUTH_TIMEOUT_MS = 10_000;
const MAX_STARTUP_BYTES = 10_000;

type ConnectionHandler = (socket: Socket) => Promise<void>;

export function requirePassword(server: PGLiteSocketServer, password: string): void {
  if (!password) throw new Error("the embedded database server needs a password");
  const internals = server as unknown as { handleConnection?: ConnectionHandler };
  const accept = internals.handleConnection?.bind(server);
  if (typeof accept !== "function") throw new Error("pglite-socket internals changed: no handleConnection");
  internals.handleConnection = async (socket: Socket) => {
    const startup = await authenticate(socket, password);
    if (!startup) return;
    await accept(socket);
    socket.emit("data", startup);
  };
}

/** The client's StartupMessage once it proved the password; undefined after refusing (socket closed). */
function authenticate(socket: Socket, password: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let startup: Buffer | undefined;
    let user = "";
    const salt = randomBytes(4);
    const timer = setTimeout(() => finish(undefined), AUTH_TIMEOUT_MS);

    function finish(result: Buffer | undefined, error?: { code: string; message: string }) {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      if (!result) {
        if (error && socket.writable) socket.end(errorResponse(error.code, error.message));
        else socket.destroy();
      }
      resolve(result);
    }
    function onError() {
      finish(undefined);
    }
    function onData(chunk: Buffer) {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > MAX_STARTUP_BYTES) return finish(undefined, { code: "08P01", message: "startup packet too long" });
      while (true) {
        if (!startup) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (length < 8 || length > MAX_STARTUP_BYTES) return finish(undefined, { code: "08P01", message: "invalid startup packet" });
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const message = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            socket.write("N"); // no TLS on a loopback socket; the client continues in plain text
            continue;
          }
          if (code === CANCEL_REQUEST) return finish(undefined); // unsupported, as in pglite-socket
          if (code !== PROTOCOL_3) return finish(undefined, { code: "08P01", message: "unsupported frontend protocol" });
          startup = Buffer.from(message);
          user = readStartupParameter(startup, "user") ?? "";
          socket.write(md5Request(salt));
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer[0] !== "p".charCodeAt(0) || length < 5)
          return finish(undefined, { code: "08P01", message: "expected a password message" });
        if (buffer.length < 1 + length) return;
        const answer = buffer.subarray(5, 1 + length - 1); // without the trailing NUL
        const expected = Buffer.from(md5Answer(password, user, salt));
        const ok = answer.length === expected.length && timingSafeEqual(answer, expected);
        if (!ok) return finish(undefined, { code: "28P01", message: `password authentication failed for user "${user}"` });
        // Clients wait for AuthenticationOk before sending more; pass on anything early all the same.
        return finish(Buffer.concat([startup, buffer.subarray(1 + length)]));
      }
    }
    socket.on("data", onData);
    socket.on("error", onError);
  });
}

/** What a client answers to AuthenticationMD5Password: "md5" + md5(md5(password + user) + salt). */
export function md5Answer(password: string, user: string, salt: Buffer): string {
  const inner = createHash("md5")
    .update(password + user)
    .digest("hex");
  return (
    "md5" +
    createHash("md5")
      .update(Buffer.concat([Buffer.from(inner), salt]))
      .digest("hex")
  );
}

function readStartupParameter(startup: Buffer, name: string): string | undefined {
  const fields = startup.subarray(8).toString("utf8").split("\0");
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function md5Request(salt: Buffer): Buffer {
  const message = Buffer.alloc(13);
  message.write("R", 0);
  message.writeInt32BE(12, 1);
  message.writeInt32BE(5, 5); // AuthenticationMD5Password
  salt.copy(message, 9);
  return message;
}

function errorResponse(code: string, text: string): Buffer {
  const body = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`);
  const header = Buffer.alloc(5);
  header.write("E", 0);
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}
