import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../trpc/server";

export const metadata: Metadata = { title: "Administration" };
export const dynamic = "force-dynamic";

export default async function AdminPage() {
  const api = await serverApi();
  // The admin procedures refuse non-admins (FORBIDDEN), which load() turns into the forbidden page.
  const [users, institutions] = await Promise.all([
    load(() => api.admin.users.list({ pageSize: 200 })),
    load(() => api.admin.institutions.list()),
  ]);
  const admins = users.items.filter((u) => u.isSystemAdmin && !u.disabled).length;
  const disabled = users.items.filter((u) => u.disabled).length;
  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / Administration
      </div>
      <h1>Administration</h1>
      <p className="muted small">Every change here is recorded in the audit trail with you as the actor.</p>
      <div className="cards" data-testid="admin-overview">
        <Link className="card" href="/admin/users">
          <h2>Users</h2>
          <p className="muted small">
            {users.total} user{users.total === 1 ? "" : "s"}
            {users.total <= users.items.length ? ` · ${admins} system admin${admins === 1 ? "" : "s"} · ${disabled} disabled` : ""}
          </p>
        </Link>
        <Link className="card" href="/admin/institutions">
          <h2>Institutions</h2>
          <p className="muted small">
            {institutions.length} institution{institutions.length === 1 ? "" : "s"}
          </p>
        </Link>
      </div>
    </main>
  );
}
