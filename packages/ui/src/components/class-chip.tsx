import type { CSSProperties } from "react";
import { readableTextColor } from "../color";

export type ClassChipProps = {
  name: string;
  color: string;
  /** Keyboard shortcut shown as a small key cap. */
  shortcut?: string | null;
  /** "solid" = a label someone gave; "outline" = imported / suggested. */
  variant?: "solid" | "outline";
  title?: string;
  className?: string;
};

/** A class label pill in the class's colour. */
export function ClassChip({ name, color, shortcut, variant = "solid", title, className }: ClassChipProps) {
  const style: CSSProperties =
    variant === "solid"
      ? { background: color, color: readableTextColor(color), border: `1px solid ${color}` }
      : { background: "transparent", color: "inherit", border: `2px solid ${color}` };
  return (
    <span
      className={["hl-chip", className].filter(Boolean).join(" ")}
      data-class-chip={name}
      title={title ?? name}
      style={{
        display: "inline-flex",
        alignItems: "center",
        gap: 4,
        borderRadius: 999,
        padding: "1px 8px",
        fontSize: 12,
        fontWeight: 600,
        lineHeight: "18px",
        whiteSpace: "nowrap",
        maxWidth: "100%",
        overflow: "hidden",
        textOverflow: "ellipsis",
        ...style,
      }}
    >
      {shortcut ? (
        <kbd style={{ font: "inherit", fontSize: 10, opacity: 0.8, border: "1px solid currentColor", borderRadius: 3, padding: "0 3px" }}>
          {shortcut}
        </kbd>
      ) : null}
      {name}
    </span>
  );
}
