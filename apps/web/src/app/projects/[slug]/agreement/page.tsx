import type { AgreementEstimate } from "@hemaloop/ml/metrics";
import { BarChart, ClassChip, ConfusionMatrix, formatMetric, formatPercent } from "@hemaloop/ui";
import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../../trpc/server";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string }>; searchParams: Promise<{ dataset?: string; pair?: string }> };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Agreement · ${(await params).slug}` };
}

/** "[0.21, 0.89]", or N/A without an interval. */
function formatInterval(e: AgreementEstimate): string {
  return e.ci95 ? `[${formatMetric(e.ci95.lower, 2)}, ${formatMetric(e.ci95.upper, 2)}]` : "N/A";
}

/** "0.548 [0.21, 0.89]", or N/A when the coefficient is undefined. */
function formatEstimate(e: AgreementEstimate): string {
  if (e.value === null) return "N/A";
  return e.ci95 ? `${formatMetric(e.value)} [${formatMetric(e.ci95.lower, 2)}, ${formatMetric(e.ci95.upper, 2)}]` : formatMetric(e.value);
}

function Stat({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId?: string }) {
  return (
    <div className="stat" data-testid={testId ?? "stat"}>
      <div className="label">{label}</div>
      <div className="value">{value}</div>
      {hint ? <div className="hint">{hint}</div> : null}
    </div>
  );
}

/** Inter-reader agreement of a project: leads and admins only (the procedure refuses everyone else). */
export default async function AgreementPage({ params, searchParams }: Props) {
  const { slug } = await params;
  const query = await searchParams;
  const datasetId = query.dataset && uuid.test(query.dataset) ? query.dataset : undefined;
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const s = await load(() => api.agreement.summary({ projectId: project.project.id, datasetId }));

  const nameOf = new Map(s.readers.map((r) => [r.id, r.name]));
  const pairKey = (p: { readerAId: string; readerBId: string }) => `${p.readerAId}.${p.readerBId}`;
  // Default: the pair with the most cells in common.
  const selected = s.pairs.find((p) => pairKey(p) === query.pair) ?? [...s.pairs].sort((a, b) => b.agreement.n - a.agreement.n)[0];
  const hrefWith = (pair: string | undefined) => {
    const q = new URLSearchParams();
    if (datasetId) q.set("dataset", datasetId);
    if (pair) q.set("pair", pair);
    const text = q.toString();
    return `/projects/${slug}/agreement${text ? `?${text}` : ""}`;
  };
  // The heat map shows only the classes the chosen pair used, so a 15-class scheme stays readable.
  const used = selected
    ? s.classes.map((_, i) => i).filter((i) => selected.confusion[i]!.some((c) => c > 0) || selected.confusion.some((row) => row[i]! > 0))
    : [];

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / Agreement
      </div>
      <div className="toolbar">
        <h1 style={{ flex: 1 }}>Reader agreement</h1>
        <form method="get" action={`/projects/${slug}/agreement`} className="nav-links">
          <label className="small">
            Dataset{" "}
            <select name="dataset" defaultValue={datasetId ?? ""} data-testid="agreement-dataset">
              <option value="">All datasets</option>
              {project.datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="button">
            Show
          </button>
        </form>
        <Link className="button" href={`/projects/${slug}/review`}>
          Review queue
        </Link>
      </div>
      <p className="muted small">
        Readings are each reader&rsquo;s current label in the project&rsquo;s scheme (their own or an accepted suggestion); imported ground
        truth and adjudications are not readings. Cohen&rsquo;s kappa corrects for chance from each reader&rsquo;s own class shares and
        drops when one class dominates (as neutrophils do in a differential) even when readers almost always agree; Gwet&rsquo;s AC1 beside
        it does not. Pair intervals: large-sample standard errors (Fleiss, Cohen &amp; Everitt 1969 for kappa; Gwet 2008 for AC1), rough
        below a few dozen cells. Overall intervals: delete-one jackknife over cells.
      </p>

      <div className="stat-cards" data-testid="agreement-summary">
        <Stat label="Readers" value={String(s.readers.length)} />
        <Stat label="Cells read twice or more" value={String(s.overall.items)} />
        <Stat
          label="Fleiss' kappa (all readers)"
          value={formatMetric(s.overall.fleissKappa.value)}
          hint={`95 % CI ${formatInterval(s.overall.fleissKappa)} · mean pairwise Cohen's kappa ${formatMetric(s.overall.meanPairwiseKappa)}`}
          testId="overall-kappa"
        />
        <Stat
          label="Gwet's AC1 (all readers)"
          value={formatMetric(s.overall.ac1.value)}
          hint={`95 % CI ${formatInterval(s.overall.ac1)}`}
          testId="overall-ac1"
        />
        <Stat label="Observed agreement" value={formatPercent(s.overall.observed)} hint="share of agreeing reader pairs per cell" />
        <Stat
          label="Disagreements not adjudicated"
          value={String(s.disagreementsNotAdjudicated)}
          hint="cells two or more readers labelled differently, with no adjudicated label: blind double reading or readers who labelled the same cell on their own"
          testId="disagreements-not-adjudicated"
        />
        <Stat
          label="In the adjudication queue"
          value={String(s.inAdjudicationQueue)}
          hint="of those, the blind double readings that disagree: only these wait for a lead in the adjudication queue"
          testId="in-adjudication-queue"
        />
      </div>

      <section className="panel" aria-labelledby="pairs">
        <h2 id="pairs">Reader pairs</h2>
        {s.pairs.length === 0 ? (
          <p className="muted">No two readers have read the same cell yet. Blind double reading makes these numbers.</p>
        ) : (
          <table className="data" data-testid="agreement-pairs">
            <thead>
              <tr>
                <th>Reader A</th>
                <th>Reader B</th>
                <th className="num">Cells</th>
                <th className="num">Observed</th>
                <th className="num">Cohen&rsquo;s kappa [95 % CI]</th>
                <th className="num">Gwet&rsquo;s AC1 [95 % CI]</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {s.pairs.map((p) => (
                <tr
                  key={pairKey(p)}
                  data-testid="agreement-pair"
                  data-readers={`${nameOf.get(p.readerAId)} / ${nameOf.get(p.readerBId)}`}
                  aria-current={p === selected ? "true" : undefined}
                >
                  <td>{nameOf.get(p.readerAId)}</td>
                  <td>{nameOf.get(p.readerBId)}</td>
                  <td className="num">{p.agreement.n}</td>
                  <td className="num">{formatPercent(p.agreement.observed)}</td>
                  <td className="num" data-testid="pair-kappa">
                    {formatEstimate(p.agreement.kappa)}
                  </td>
                  <td className="num" data-testid="pair-ac1">
                    {formatEstimate(p.agreement.ac1)}
                  </td>
                  <td>{p === selected ? <strong>shown below</strong> : <Link href={hrefWith(pairKey(p))}>Matrix</Link>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <div className="chart-grid">
        {selected ? (
          <section className="panel" aria-labelledby="pair-matrix">
            <h2 id="pair-matrix">
              {nameOf.get(selected.readerAId)} vs {nameOf.get(selected.readerBId)}
            </h2>
            <ConfusionMatrix
              matrix={used.map((i) => used.map((j) => selected.confusion[i]![j]!))}
              classes={used.map((i) => ({ key: s.classes[i]!.key, label: s.classes[i]!.name, color: s.classes[i]!.color }))}
              title={`Readings of ${nameOf.get(selected.readerAId)} against ${nameOf.get(selected.readerBId)}`}
              axes={{
                rows: nameOf.get(selected.readerAId) ?? "Reader A",
                columns: nameOf.get(selected.readerBId) ?? "Reader B",
                row: nameOf.get(selected.readerAId) ?? "A",
                column: nameOf.get(selected.readerBId) ?? "B",
              }}
            />
          </section>
        ) : null}
        <section className="panel" aria-labelledby="per-class-chart">
          <h2 id="per-class-chart">Specific agreement per class (%)</h2>
          <BarChart
            title="Of the times a reader chose the class, how often the other readers of the cell did too"
            segments={["agreement %"]}
            items={s.classes
              .map((c, i) => ({ c, v: s.overall.perClass[i] ?? null }))
              .filter((x) => x.v !== null)
              .map(({ c, v }) => ({ key: c.key, label: c.name, color: c.color, values: [Math.round(v! * 100)] }))}
          />
        </section>
      </div>

      <section className="panel" aria-labelledby="per-class">
        <h2 id="per-class">Per class</h2>
        <table className="data" data-testid="agreement-classes">
          <thead>
            <tr>
              <th>Class</th>
              <th className="num">Readings</th>
              <th className="num">Specific agreement, all readers</th>
              {selected ? (
                <th className="num">
                  {nameOf.get(selected.readerAId)} / {nameOf.get(selected.readerBId)}
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {s.classes.map((c, i) =>
              s.readingsPerClass[i] ? (
                <tr key={c.id} data-class={c.key}>
                  <td>
                    <ClassChip name={c.name} color={c.color} />
                  </td>
                  <td className="num">{s.readingsPerClass[i]}</td>
                  <td className="num">{formatPercent(s.overall.perClass[i])}</td>
                  {selected ? <td className="num">{formatPercent(selected.agreement.perClass[i])}</td> : null}
                </tr>
              ) : null,
            )}
          </tbody>
        </table>
      </section>

      <section className="panel" aria-labelledby="vs-model">
        <h2 id="vs-model">Readers vs the current model{s.model ? ` (${s.model.name})` : ""}</h2>
        {!s.model ? (
          <p className="muted">No model is published for this project yet.</p>
        ) : s.model.readers.length === 0 ? (
          <p className="muted">The current model has no predictions on cells the readers read.</p>
        ) : (
          <table className="data" data-testid="agreement-model">
            <thead>
              <tr>
                <th>Reader</th>
                <th className="num">Cells</th>
                <th className="num">Agrees with the model</th>
                <th className="num">Cohen&rsquo;s kappa [95 % CI]</th>
                <th className="num">Gwet&rsquo;s AC1</th>
                <th className="num">Accepted suggestions</th>
              </tr>
            </thead>
            <tbody>
              {[...s.model.readers]
                .sort((a, b) => (nameOf.get(a.readerId) ?? "").localeCompare(nameOf.get(b.readerId) ?? ""))
                .map((r) => (
                  <tr key={r.readerId} data-testid="agreement-model-reader">
                    <td>{nameOf.get(r.readerId)}</td>
                    <td className="num">{r.agreement.n}</td>
                    <td className="num">{formatPercent(r.agreement.observed)}</td>
                    <td className="num">{formatEstimate(r.agreement.kappa)}</td>
                    <td className="num">{formatMetric(r.agreement.ac1.value)}</td>
                    <td className="num" title="accepting a suggestion agrees with the model by construction">
                      {r.accepted}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
