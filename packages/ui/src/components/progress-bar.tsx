export type ProgressBarProps = {
  /** 0..1 */
  value: number;
  label?: string;
  tone?: "active" | "done" | "failed" | "idle";
};

const tones = { active: "#2f6fed", done: "#1f9d55", failed: "#c53030", idle: "#8a94a6" } as const;

/** An accessible progress bar (role=progressbar with aria values). */
export function ProgressBar({ value, label, tone = "active" }: ProgressBarProps) {
  const pct = Math.round(Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0)) * 100);
  return (
    <div
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      aria-label={label}
      style={{ background: "#e6e9ef", borderRadius: 4, height: 8, overflow: "hidden", width: "100%" }}
    >
      <div style={{ width: `${pct}%`, height: "100%", background: tones[tone], transition: "width 300ms ease" }} />
    </div>
  );
}
