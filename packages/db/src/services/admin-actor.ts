/**
 * Who performs an administrative change. The web passes the signed-in system admin (the role middleware
 * checked them); the admin CLI passes null: whoever runs the host acts as the system, and every audit
 * event it writes says so in `after.via`.
 */
export type AdminActor = { actorId: string | null };

export const SYSTEM_ACTOR: AdminActor = { actorId: null };

/** Tags an audit payload with its origin when the system (the CLI) acted, so the trail never reads as anonymous. */
export function withOrigin<T extends Record<string, unknown>>(actor: AdminActor, payload: T): T & { via?: "system" } {
  return actor.actorId === null ? { ...payload, via: "system" as const } : payload;
}
