import Link from "next/link";

export default function Forbidden() {
  return (
    <main>
      <div className="panel">
        <h1>Not allowed</h1>
        <p>You are not a member of this project, or your role does not allow this page.</p>
        <Link href="/">Back to my projects</Link>
      </div>
    </main>
  );
}
