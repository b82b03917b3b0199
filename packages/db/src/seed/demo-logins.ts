// Kept apart from the demo seed so services (and the web app) can refuse demo addresses without
// importing the seed, which pulls in the image import pipeline.
/** The login printed by `npm start`. Demo credentials only: never used outside the demo seed. */
export const DEMO_LOGIN = { email: "demo@hemaloop.local", password: "hemaloop-demo" } as const;
export const DEMO_ANNOTATOR_LOGIN = { email: "annotator@hemaloop.local", password: "hemaloop-annotator" } as const;
export const DEMO_REVIEWER_LOGIN = { email: "reviewer@hemaloop.local", password: "hemaloop-reviewer" } as const;
/** Every account whose password is published in the README: they may only sign in in demo mode. */
export const DEMO_LOGINS = [DEMO_LOGIN, DEMO_ANNOTATOR_LOGIN, DEMO_REVIEWER_LOGIN] as const;

export function isDemoEmail(email: string): boolean {
  const normalized = email.trim().toLowerCase();
  return DEMO_LOGINS.some((login) => login.email === normalized);
}
