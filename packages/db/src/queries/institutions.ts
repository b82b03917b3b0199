import { asc, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { institution, institutionMember, user } from "../schema";

export type AdminInstitutionRow = {
  id: string;
  name: string;
  country: string | null;
  createdAt: Date;
  admins: { email: string; name: string }[];
  memberCount: number;
};

/** Every institution with its admins (by email) and how many members it has, for the admin pages. */
export async function listInstitutionsForAdmin(db: DbOrTx): Promise<AdminInstitutionRow[]> {
  const [institutions, members] = await Promise.all([
    db.select().from(institution).orderBy(asc(institution.name)),
    db
      .select({ institutionId: institutionMember.institutionId, role: institutionMember.role, email: user.email, name: user.name })
      .from(institutionMember)
      .innerJoin(user, eq(user.id, institutionMember.userId))
      .orderBy(asc(user.email)),
  ]);
  return institutions.map((inst) => {
    const mine = members.filter((m) => m.institutionId === inst.id);
    return {
      id: inst.id,
      name: inst.name,
      country: inst.country,
      createdAt: inst.createdAt,
      admins: mine.filter((m) => m.role === "admin").map(({ email, name }) => ({ email, name })),
      memberCount: mine.length,
    };
  });
}
