import { NavLink, Outlet } from "react-router";

import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { paths } from "@/config/paths";
import { SignInForm } from "@/features/admin/components/sign-in-form";
import { AdminContext } from "@/features/admin/hooks/admin-context";
import { useAdminSession } from "@/features/admin/hooks/use-admin-session";
import { useDocumentTitle } from "@/lib/use-document-title";

const TABS = [
  { to: paths.admin(), label: "Pages", end: true },
  { to: paths.adminReports(), label: "Reports", end: false },
  { to: paths.adminStreams(), label: "Streams", end: false },
  { to: paths.adminHealth(), label: "Health", end: false },
];

/** `/admin`: the console of moderators and auditors, behind an admin token. */
export function AdminRoute() {
  useDocumentTitle("Console");
  const { state, signedIn, signOut, retry } = useAdminSession();

  return (
    <div className="admin-shell" data-testid="admin">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="admin-header">
        <p className="admin-brand">
          Valentine <span aria-hidden="true">♥</span> <span className="admin-brand-sub">console</span>
        </p>
        {state.kind === "signed-in" && (
          <div className="admin-who">
            <span data-testid="admin-signed-in">
              Signed in as <strong>{state.admin}</strong>
            </span>
            <button
              type="button"
              className="button button--small button--ghost"
              onClick={() => signOut("You signed out.")}
              data-testid="admin-sign-out"
            >
              Sign out
            </button>
          </div>
        )}
      </header>
      {state.kind === "signed-in" && (
        <nav className="admin-tabs" aria-label="Console">
          {TABS.map((tab) => (
            <NavLink key={tab.to} to={tab.to} end={tab.end} className="admin-tab">
              {tab.label}
            </NavLink>
          ))}
        </nav>
      )}
      <main id="main" className="admin-main" tabIndex={-1}>
        {state.kind === "checking" && (
          <section className="panel panel--center panel--tall">
            <Spinner label="Checking your token" />
          </section>
        )}
        {state.kind === "failed" && (
          <section className="panel">
            <Notice tone="error" title="We couldn't check your token">
              <p>{state.message}</p>
            </Notice>
            <div className="button-row">
              <button type="button" className="button" onClick={retry}>
                Try again
              </button>
              <button type="button" className="button button--ghost" onClick={() => signOut()}>
                Use another token
              </button>
            </div>
          </section>
        )}
        {state.kind === "signed-out" && <SignInForm notice={state.notice} onSignedIn={signedIn} />}
        {state.kind === "signed-in" && (
          <AdminContext.Provider value={{ token: state.token, admin: state.admin, signOut }}>
            <Outlet />
          </AdminContext.Provider>
        )}
      </main>
    </div>
  );
}
