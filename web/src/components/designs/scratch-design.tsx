import { useCallback, useEffect, useRef, useState, type PointerEvent } from "react";

import { launchConfetti } from "@/components/effects/confetti";
import type { DesignStyle } from "@/config/designs";
import { FONT_STACKS } from "@/config/designs";

import { HeartReply } from "./heart-reply";
import { DesignTitle, FromLine, Keepsakes, ToLine } from "./parts";
import type { DesignProps } from "./types";

/** Share of the layer that must be scratched away before the message shows whole. */
export const REVEAL_THRESHOLD = 0.5;
/** Measure the scratched share every this many strokes while scratching. */
const MEASURE_EVERY = 6;

type Point = { x: number; y: number };

/**
 * Scratch Card: a heart-patterned layer over the message, scratched away with a mouse,
 * pen or finger. Once more than half is gone, the rest fades and the message is revealed.
 * A button reveals it without scratching, for keyboards and screen readers.
 */
export function ScratchDesign({ content, style, startRevealed, onReveal, reply, keepsakes }: DesignProps) {
  const [revealed, setRevealed] = useState(startRevealed);
  const [scratched, setScratched] = useState(0);
  const surfaceRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const started = useRef(false);
  const stroke = useRef<{ active: boolean; last: Point | null; count: number }>({
    active: false,
    last: null,
    count: 0,
  });

  const revealedOnce = useRef(startRevealed);

  const reveal = useCallback(() => {
    if (revealedOnce.current) return;
    revealedOnce.current = true;
    setRevealed(true);
    launchConfetti({ colors: [style.primary, "#f9a8d4", "#fde68a", "#ffffff"], count: 120 });
    onReveal?.();
  }, [style.primary, onReveal]);

  // Paint the layer, and paint it again if the card changes size before anyone scratches.
  useEffect(() => {
    if (revealed) return;
    const canvas = canvasRef.current;
    const surface = surfaceRef.current;
    if (!canvas || !surface) return;
    const paint = () => {
      if (started.current) return;
      paintLayer(canvas, surface.clientWidth, surface.clientHeight, style);
    };
    paint();
    let alive = true;
    void document.fonts?.ready.then(() => alive && paint());
    if (typeof ResizeObserver === "undefined") return () => void (alive = false);
    const observer = new ResizeObserver(paint);
    observer.observe(surface);
    return () => {
      alive = false;
      observer.disconnect();
    };
  }, [revealed, style]);

  const measure = () => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const share = clearedShare(canvas);
    setScratched(share);
    if (share >= REVEAL_THRESHOLD) reveal();
  };

  const scratchTo = (event: PointerEvent<HTMLCanvasElement>) => {
    const canvas = event.currentTarget;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    if (!context) return;
    const box = canvas.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return;
    const scale = canvas.width / box.width;
    const point = { x: (event.clientX - box.left) * scale, y: (event.clientY - box.top) * scale };
    const brush = Math.max(26, Math.min(box.width, box.height) * 0.14) * scale;
    context.globalCompositeOperation = "destination-out";
    context.lineCap = "round";
    context.lineJoin = "round";
    context.lineWidth = brush;
    context.beginPath();
    const from = stroke.current.last ?? point;
    context.moveTo(from.x, from.y);
    context.lineTo(point.x + 0.01, point.y);
    context.stroke();
    stroke.current.last = point;
    stroke.current.count += 1;
    if (stroke.current.count % MEASURE_EVERY === 0) measure();
  };

  const onPointerDown = (event: PointerEvent<HTMLCanvasElement>) => {
    if (revealed) return;
    event.preventDefault();
    started.current = true;
    event.currentTarget.setPointerCapture?.(event.pointerId);
    stroke.current = { active: true, last: null, count: stroke.current.count };
    scratchTo(event);
  };
  const onPointerMove = (event: PointerEvent<HTMLCanvasElement>) => {
    if (stroke.current.active && !revealed) scratchTo(event);
  };
  const onPointerEnd = () => {
    if (!stroke.current.active) return;
    stroke.current.active = false;
    stroke.current.last = null;
    measure();
  };

  return (
    <div className="design-card scratch-card">
      <ToLine content={content} lead="For" />
      <DesignTitle>{content.title}</DesignTitle>
      <p className="scratch-hint" aria-hidden={revealed}>
        {revealed ? "\u00a0" : "Scratch the card to reveal your message"}
      </p>
      <div className={`scratch-surface ${revealed ? "is-revealed" : ""}`} ref={surfaceRef}>
        <div className="scratch-content" aria-hidden={!revealed}>
          <p className="design-message" data-testid={revealed ? "revealed-message" : "hidden-message"}>
            {content.message}
          </p>
          <FromLine content={content} lead="Love," />
        </div>
        <canvas
          ref={canvasRef}
          className="scratch-layer"
          data-testid="scratch-canvas"
          role="img"
          aria-label="A scratch layer covering the message"
          aria-hidden={revealed}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerEnd}
          onPointerCancel={onPointerEnd}
          onLostPointerCapture={onPointerEnd}
        />
      </div>
      {revealed && <Keepsakes>{keepsakes}</Keepsakes>}
      <div className="scratch-footer">
        {revealed ? (
          reply ? (
            <HeartReply reply={reply} label="Send a heart back" />
          ) : (
            <span className="scratch-done">Revealed ♥</span>
          )
        ) : (
          <>
            <span className="scratch-progress" data-testid="scratch-progress">
              {Math.round(scratched * 100)}% scratched
            </span>
            <button type="button" className="link-button" data-testid="scratch-reveal" onClick={reveal}>
              Reveal without scratching
            </button>
          </>
        )}
      </div>
    </div>
  );
}

/** Fills the canvas with the scratch layer: the template's colours, a heart pattern and a label. */
function paintLayer(canvas: HTMLCanvasElement, width: number, height: number, style: DesignStyle): void {
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) return;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.globalCompositeOperation = "source-over";
  const gradient = context.createLinearGradient(0, 0, width, height);
  gradient.addColorStop(0, style.primary);
  gradient.addColorStop(1, "#f472b6");
  context.fillStyle = gradient;
  context.fillRect(0, 0, width, height);

  context.fillStyle = "rgba(255, 255, 255, 0.22)";
  const step = 34;
  for (let y = step / 2, row = 0; y < height + step; y += step, row += 1) {
    for (let x = row % 2 ? step / 2 : 0; x < width + step; x += step) {
      heart(context, x, y, 9);
    }
  }

  context.fillStyle = "#ffffff";
  context.textAlign = "center";
  context.textBaseline = "middle";
  const size = Math.max(18, Math.min(30, width / 14));
  context.font = `800 ${size}px ${FONT_STACKS.Nunito}`;
  context.fillText("Scratch here ♥", width / 2, height / 2);
  context.setTransform(1, 0, 0, 1, 0, 0);
}

function heart(context: CanvasRenderingContext2D, x: number, y: number, size: number): void {
  const s = size / 2;
  context.beginPath();
  context.moveTo(x, y + s * 0.9);
  context.bezierCurveTo(x - s * 1.6, y - s * 0.2, x - s * 0.6, y - s * 1.4, x, y - s * 0.45);
  context.bezierCurveTo(x + s * 0.6, y - s * 1.4, x + s * 1.6, y - s * 0.2, x, y + s * 0.9);
  context.fill();
}

/** Share of the layer scratched through, sampled on a grid (every pixel would be slow). */
export function clearedShare(canvas: HTMLCanvasElement): number {
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context || canvas.width === 0 || canvas.height === 0) return 0;
  const { data, width, height } = context.getImageData(0, 0, canvas.width, canvas.height);
  const stride = Math.max(2, Math.round(Math.min(width, height) / 80));
  let cleared = 0;
  let total = 0;
  for (let y = Math.floor(stride / 2); y < height; y += stride) {
    for (let x = Math.floor(stride / 2); x < width; x += stride) {
      total += 1;
      if ((data[(y * width + x) * 4 + 3] ?? 255) < 128) cleared += 1;
    }
  }
  return total === 0 ? 0 : cleared / total;
}
