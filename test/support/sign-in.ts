/** Signs in with the password grant through `post` (POST /auth/token, however the caller reaches it); returns the access token. */
export async function signIn(
  post: (options: { body: unknown }) => Promise<{ status: number; body: any }>,
  username: string,
  password = 'password123',
): Promise<string> {
  const res = await post({ body: { username, password } });
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}
