import { useState } from "react";
import { createBrowserRouter, RouterProvider, type RouteObject } from "react-router";

import { AdminRoute } from "./routes/admin/admin";
import { AdminPageRoute } from "./routes/admin/admin-page";
import { AdminPagesRoute } from "./routes/admin/admin-pages";
import { AdminHealthRoute, AdminNotFoundRoute, AdminReportsRoute, AdminStreamsRoute } from "./routes/admin/admin-tabs";
import { CreateRoute } from "./routes/create/create";
import { EditRoute } from "./routes/edit/edit";
import { NotFoundRoute } from "./routes/not-found";
import { UnsubscribeRoute } from "./routes/unsubscribe";
import { ViewRoute } from "./routes/view";
import { RouteBoundary, RouterErrorFallback } from "./route-boundary";

/** Every address the app answers; each screen behind its own error boundary. */
export const routes: RouteObject[] = [
  {
    errorElement: <RouterErrorFallback />,
    children: [
      {
        index: true,
        element: (
          <RouteBoundary>
            <CreateRoute />
          </RouteBoundary>
        ),
      },
      {
        path: "admin",
        // The console stays mounted across its tabs (the session is checked once); each tab
        // has its own boundary.
        element: <AdminRoute />,
        children: [
          {
            index: true,
            element: (
              <RouteBoundary>
                <AdminPagesRoute />
              </RouteBoundary>
            ),
          },
          {
            path: "pages/:slug",
            element: (
              <RouteBoundary>
                <AdminPageRoute />
              </RouteBoundary>
            ),
          },
          {
            path: "reports",
            element: (
              <RouteBoundary>
                <AdminReportsRoute />
              </RouteBoundary>
            ),
          },
          {
            path: "streams",
            element: (
              <RouteBoundary>
                <AdminStreamsRoute />
              </RouteBoundary>
            ),
          },
          {
            path: "health",
            element: (
              <RouteBoundary>
                <AdminHealthRoute />
              </RouteBoundary>
            ),
          },
          { path: "*", element: <AdminNotFoundRoute /> },
        ],
      },
      {
        path: ":slug",
        element: (
          <RouteBoundary>
            <ViewRoute />
          </RouteBoundary>
        ),
      },
      {
        path: ":slug/edit",
        element: (
          <RouteBoundary>
            <EditRoute />
          </RouteBoundary>
        ),
      },
      {
        path: ":slug/unsubscribe",
        element: (
          <RouteBoundary>
            <UnsubscribeRoute />
          </RouteBoundary>
        ),
      },
      {
        path: "*",
        element: (
          <RouteBoundary>
            <NotFoundRoute />
          </RouteBoundary>
        ),
      },
    ],
  },
];

export function AppRouter() {
  const [router] = useState(() => createBrowserRouter(routes));
  return <RouterProvider router={router} />;
}
