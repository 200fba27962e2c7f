import type { InsightsLink } from "../hooks/use-insights";
import type { Insights } from "../types/insights";
import { describeAnswer, describeNoAnswer, describeViews } from "../utils/describe";
import { ViewsChart } from "./views-chart";

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function At({ iso }: { iso: string }) {
  const date = new Date(iso);
  return <time dateTime={iso}>{Number.isNaN(date.getTime()) ? iso : when.format(date)}</time>;
}

const LINK_SAYS: Record<InsightsLink, string> = {
  connecting: "Connecting…",
  live: "Live: changes show here as they happen",
  reconnecting: "Reconnecting…",
  polling: "Checking for changes every few seconds",
};

type InsightsPanelProps = {
  insights: Insights;
  /** The page's design, for what its answer is called. */
  templateId: string;
  link: InsightsLink;
  /** Today, for the chart (tests). */
  today?: Date;
};

/** Whether the page was opened, how often it was seen, and its answer, kept current. */
export function InsightsPanel({ insights, templateId, link, today }: InsightsPanelProps) {
  const { first_opened_at: openedAt, views_total: views, answer } = insights;
  return (
    <div className="insights" data-testid="insights">
      <dl className="insights-facts" aria-live="polite">
        <div className="insights-fact" data-testid="insights-opened" data-state={openedAt ? "opened" : "waiting"}>
          <dt>Opened</dt>
          <dd>
            {openedAt ? (
              <>
                First opened <At iso={openedAt} />
              </>
            ) : (
              "Not opened yet"
            )}
          </dd>
        </div>
        <div className="insights-fact" data-testid="insights-views">
          <dt>Views</dt>
          <dd>{describeViews(views)}</dd>
        </div>
        <div className="insights-fact" data-testid="insights-answer" data-state={answer ? "answered" : "waiting"}>
          <dt>Answer</dt>
          <dd>
            {answer ? (
              <>
                {describeAnswer(answer)} <span className="muted">· </span>
                <At iso={answer.answered_at} />
              </>
            ) : (
              describeNoAnswer(templateId)
            )}
          </dd>
        </div>
      </dl>
      <ViewsChart byDay={insights.views_by_day} today={today} />
      <p className="insights-link muted" data-testid="insights-link" data-link={link}>
        <span className={`insights-link-dot insights-link-dot--${link}`} aria-hidden="true" />
        {LINK_SAYS[link]}
      </p>
    </div>
  );
}
