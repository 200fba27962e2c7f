import { useRef, useState, type CSSProperties, type PointerEvent } from "react";

import { launchConfetti } from "@/components/effects/confetti";
import { FloatingHearts } from "@/components/effects/floating-hearts";

import { DesignTitle, Keepsakes, FromLine, Message, ToLine } from "./parts";
import type { DesignProps, Reply } from "./types";

const NO_LABELS = [
  "No",
  "Are you sure?",
  "Really sure?",
  "Think again!",
  "Last chance!",
  "Pretty please?",
  "You're breaking my heart",
  "Just say yes!",
];

/** Each dodge makes "Yes" this much bigger, up to `MAX_YES_SCALE`. */
const YES_GROWTH = 0.16;
const MAX_YES_SCALE = 2.4;
/** A touch fires pointerdown and then click: one dodge, not two. */
const DODGE_COOLDOWN_MS = 300;

type Point = { x: number; y: number };

/**
 * Will You Be Mine?: the title asks; "No" slips away from every pointer, finger or key
 * press while "Yes" grows; "Yes" reveals the message with a celebration.
 */
export function ProposalDesign({ content, style, startRevealed, onReveal, reply, keepsakes }: DesignProps) {
  const [answered, setAnswered] = useState(startRevealed);
  const [dodges, setDodges] = useState(0);
  const [noAt, setNoAt] = useState<Point | null>(null);
  const arenaRef = useRef<HTMLDivElement>(null);
  const noRef = useRef<HTMLButtonElement>(null);
  const yesRef = useRef<HTMLButtonElement>(null);
  const lastDodge = useRef(0);

  const dodge = (pointer: Point | null) => {
    const now = Date.now();
    if (now - lastDodge.current < DODGE_COOLDOWN_MS) return;
    lastDodge.current = now;
    setDodges((n) => n + 1);
    const arena = arenaRef.current?.getBoundingClientRect();
    const no = noRef.current?.getBoundingClientRect();
    const yes = yesRef.current?.getBoundingClientRect();
    if (!arena || !no) return;
    setNoAt(escapeSpot(arena, no, yes ?? null, pointer));
  };

  const onPointerEnter = (event: PointerEvent<HTMLButtonElement>) => {
    if (event.pointerType === "mouse" || event.pointerType === "pen") dodge({ x: event.clientX, y: event.clientY });
  };
  const onPointerDown = (event: PointerEvent<HTMLButtonElement>) => {
    event.preventDefault();
    dodge({ x: event.clientX, y: event.clientY });
  };

  const sayYes = () => {
    setAnswered(true);
    launchConfetti({ colors: [style.primary, "#f9a8d4", "#fde68a", "#ffffff", "#fb7185"], count: 200 });
    onReveal?.();
    reply?.send(dodges);
  };

  if (answered) {
    return (
      <>
        <FloatingHearts count={24} color={style.primary} placement="contained" />
        <div className="design-card proposal-card proposal-card--yes" data-testid="proposal-celebration">
          <p className="proposal-big-heart" aria-hidden="true">
            ♥
          </p>
          <p className="proposal-yay">Yes! Forever yes!</p>
          <DesignTitle>{content.title}</DesignTitle>
          <Message content={content} />
          <Keepsakes>{keepsakes}</Keepsakes>
          <FromLine content={content} lead="All my love," />
          {reply && <YesStatus reply={reply} dodges={dodges} />}
        </div>
      </>
    );
  }

  const yesScale = Math.min(1 + dodges * YES_GROWTH, MAX_YES_SCALE);
  const noLabel = NO_LABELS[Math.min(dodges, NO_LABELS.length - 1)];
  const noStyle: CSSProperties | undefined = noAt ? { position: "absolute", left: noAt.x, top: noAt.y } : undefined;

  return (
    <div className="design-card proposal-card">
      <ToLine content={content} lead="Hey" />
      <DesignTitle>{content.title}</DesignTitle>
      <div className="proposal-arena" ref={arenaRef}>
        <button
          ref={yesRef}
          type="button"
          className="proposal-yes"
          data-testid="proposal-yes"
          style={{ "--yes-scale": yesScale } as CSSProperties}
          onClick={sayYes}
        >
          Yes
        </button>
        <button
          ref={noRef}
          type="button"
          className="proposal-no"
          data-testid="proposal-no"
          data-dodges={dodges}
          style={noStyle}
          onPointerEnter={onPointerEnter}
          onPointerDown={onPointerDown}
          onClick={() => dodge(null)}
        >
          {noLabel}
        </button>
      </div>
      <p className="visually-hidden" aria-live="polite">
        {dodges > 0 ? `"No" ran away ${dodges === 1 ? "once" : `${dodges} times`}. "Yes" is waiting.` : ""}
      </p>
    </div>
  );
}

/**
 * Under the celebration: how the "yes" is getting on its way. The celebration itself stays
 * whatever happens, and a failed send offers to try again.
 */
function YesStatus({ reply, dodges }: { reply: Reply; dodges: number }) {
  const { status } = reply;
  return (
    <div className="proposal-reply" data-testid="proposal-reply" data-state={status.state}>
      <p className="proposal-reply-note" aria-live="polite">
        {status.state === "sending" && "Sending your answer…"}
        {status.state === "sent" &&
          (status.already ? (
            <span data-testid="answer-already">This page had already been answered, so nothing new was sent ♥</span>
          ) : (
            <span data-testid="answer-sent">Your answer has been sent ♥</span>
          ))}
        {status.state === "failed" && <span data-testid="reply-error">{status.message}</span>}
        {status.state === "author" && "This is your own page, so your answer was not sent."}
      </p>
      {status.state === "failed" && status.canRetry && (
        <button
          type="button"
          className="button button--small"
          data-testid="reply-retry"
          onClick={() => reply.send(dodges)}
        >
          Send my answer again
        </button>
      )}
    </div>
  );
}

/**
 * A new top-left corner for the "No" button inside the arena (in arena coordinates), far
 * from the pointer and clear of "Yes" when there is room.
 */
export function escapeSpot(arena: DOMRect, no: DOMRect, yes: DOMRect | null, pointer: Point | null): Point {
  const maxX = Math.max(0, arena.width - no.width);
  const maxY = Math.max(0, arena.height - no.height);
  const from = pointer ?? { x: no.left + no.width / 2, y: no.top + no.height / 2 };
  let best: Point = { x: 0, y: 0 };
  let bestScore = -Infinity;
  for (let i = 0; i < 16; i += 1) {
    const candidate = { x: Math.random() * maxX, y: Math.random() * maxY };
    const centre = { x: arena.left + candidate.x + no.width / 2, y: arena.top + candidate.y + no.height / 2 };
    let score = Math.hypot(centre.x - from.x, centre.y - from.y);
    if (yes && overlaps(arena.left + candidate.x, arena.top + candidate.y, no.width, no.height, yes)) score -= 10_000;
    if (score > bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  return { x: Math.round(best.x), y: Math.round(best.y) };
}

function overlaps(left: number, top: number, width: number, height: number, box: DOMRect): boolean {
  const pad = 8;
  return (
    left < box.right + pad && left + width > box.left - pad && top < box.bottom + pad && top + height > box.top - pad
  );
}
