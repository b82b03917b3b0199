import Link from "next/link";

export default function NotFound() {
  return (
    <main>
      <div className="panel">
        <h1>Not found</h1>
        <p>There is nothing here.</p>
        <Link href="/">Back to my projects</Link>
      </div>
    </main>
  );
}
