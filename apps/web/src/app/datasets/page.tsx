import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../trpc/server";
import { ShareControls } from "./share-forms";

export const metadata: Metadata = { title: "Institution datasets" };
export const dynamic = "force-dynamic";

/**
 * Institution admins: the institution's datasets and the projects each is shared with. A dataset is
 * private to its institution until it is shared; then that project's leads may attach it.
 */
export default async function DatasetsPage() {
  const api = await serverApi();
  const datasets = await load(() => api.dataset.administered());
  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / Institution datasets
      </div>
      <h1>Institution datasets</h1>
      <p className="muted">
        Datasets of the institutions you administer. Share one with a project so its leads can attach it; unsharing does not detach it.
      </p>
      {datasets.length === 0 ? (
        <div className="panel">You administer no institution with datasets.</div>
      ) : (
        <table className="data" data-testid="institution-datasets">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Institution</th>
              <th>In projects</th>
              <th>Shared with</th>
            </tr>
          </thead>
          <tbody>
            {datasets.map((d) => (
              <tr key={d.id}>
                <td>{d.name}</td>
                <td>{d.institution}</td>
                <td className="small">{d.attachedTo.join(", ") || <span className="muted">none</span>}</td>
                <td>
                  <ShareControls datasetId={d.id} datasetName={d.name} sharedWith={d.sharedWith} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
