import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../trpc/server";
import { CreateUserForm } from "./create-user-form";
import { UserActions } from "./user-actions";

export const metadata: Metadata = { title: "Users · Administration" };
export const dynamic = "force-dynamic";

const PAGE_SIZE = 50;

type Props = { searchParams: Promise<{ q?: string | string[]; page?: string | string[] }> };

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export default async function AdminUsersPage({ searchParams }: Props) {
  const params = await searchParams;
  const search = first(params.q)?.slice(0, 320) ?? "";
  const page = Math.max(1, Number.parseInt(first(params.page) ?? "1", 10) || 1);
  const api = await serverApi();
  const users = await load(() => api.admin.users.list({ search: search || undefined, page, pageSize: PAGE_SIZE }));
  const pages = Math.max(1, Math.ceil(users.total / PAGE_SIZE));
  const pageHref = (p: number) => `/admin/users?${new URLSearchParams({ ...(search ? { q: search } : {}), page: String(p) }).toString()}`;

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href="/admin">Administration</Link> / Users
      </div>
      <h1>Users</h1>
      <section className="panel">
        <h2>New user</h2>
        <CreateUserForm />
      </section>
      <section className="panel">
        <form className="toolbar" action="/admin/users" method="get" role="search">
          <input name="q" type="search" defaultValue={search} placeholder="Search email or name" aria-label="Search users" />
          <button type="submit">Search</button>
          <span className="muted small">
            {users.total} user{users.total === 1 ? "" : "s"}
          </span>
        </form>
        <table className="data" data-testid="users">
          <thead>
            <tr>
              <th>Email</th>
              <th>Name</th>
              <th>Status</th>
              <th className="num">Projects</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.items.map((u) => (
              <tr key={u.id} data-testid="user-row" data-email={u.email}>
                <td>{u.email}</td>
                <td>{u.name}</td>
                <td>
                  {u.isSystemAdmin ? <span className="role">system admin</span> : null}{" "}
                  {u.disabled ? <span className="badge">disabled</span> : null}{" "}
                  {u.passwordChangeRequired ? <span className="muted small">one-time password</span> : null}
                </td>
                <td className="num">{u.membershipCount}</td>
                <td className="small">{u.createdAt.toISOString().slice(0, 10)}</td>
                <td>
                  <UserActions email={u.email} disabled={u.disabled} isSystemAdmin={u.isSystemAdmin} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {pages > 1 ? (
          <div className="pager">
            {page > 1 ? <Link href={pageHref(page - 1)}>Previous</Link> : null}
            <span className="muted small">
              page {page} of {pages}
            </span>
            {page < pages ? <Link href={pageHref(page + 1)}>Next</Link> : null}
          </div>
        ) : null}
      </section>
    </main>
  );
}
