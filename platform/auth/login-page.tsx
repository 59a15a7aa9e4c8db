// The login page: admin token/password form, and a button for the OIDC provider when one is configured.
import type { FC } from "hono/jsx";

export interface LoginPageProps {
  readonly csrf: string;
  readonly next: string;
  readonly error?: string | undefined;
  readonly oidc: boolean;
}

export const LoginPage: FC<LoginPageProps> = ({ csrf, next, error, oidc }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>Sign in · Flywheel</title>
      <link rel="stylesheet" href="/static/flywheel.css" />
    </head>
    <body class="login">
      <main class="login-box">
        <h1>Flywheel</h1>
        {error ? (
          <p class="error" role="alert" id="login-error">
            {error}
          </p>
        ) : null}
        <form method="post" action="/login">
          <input type="hidden" name="_csrf" value={csrf} />
          <input type="hidden" name="next" value={next} />
          <label for="token">Admin token or password</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
          <button type="submit">Sign in</button>
        </form>
        {oidc ? (
          <form method="get" action="/oidc/start">
            <input type="hidden" name="next" value={next} />
            <button type="submit" class="secondary">
              Sign in with single sign-on
            </button>
          </form>
        ) : null}
      </main>
    </body>
  </html>
);
