// Drives the generated TypeScript SDK against a live Hangar; exits non-zero on the first wrong answer.
import { AppClient, LiveQueryClient, OfflineQueue, ParseError, Player, Team, User, WebSessionStorage } from "./index.js";
import type { Player as PlayerObject, SocketConstructor, Team as TeamObject } from "./index.js";

// Node's globals, declared here so the program needs no @types/node.
declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

function check(condition: boolean, what: string): void {
  if (!condition) {
    console.log(`FAILED: ${what}`);
    process.exit(1);
  }
}

const env = (name: string): string => process.env[name] ?? "";
const store = new Map<string, string>();
const storage = {
  getItem: (k: string) => store.get(k) ?? null,
  setItem: (k: string, v: string) => void store.set(k, v),
  removeItem: (k: string) => void store.delete(k),
};
const options = {
  serverURL: env("HANGAR_URL"), applicationId: env("HANGAR_APP_ID"), clientKey: env("HANGAR_CLIENT_KEY"),
  sessions: new WebSessionStorage(storage),
};
const client = new AppClient(options);

const user = await client.signUp({ username: "ada", email: "ada@example.com", nickname: "A" }, "pw-123456");
check(typeof user.objectId === "string", "sign-up gives an objectId");
const [reds, blues] = await client.saveAll(Team, [{ name: "Reds" }, { name: "Blues" }]);
check(!!reds?.objectId && !!blues?.objectId, "batch creates both teams");
const avatar = await client.uploadFile("avatar.txt", new TextEncoder().encode("hello file"), "text/plain");
check(!!avatar.url && avatar.name.endsWith("avatar.txt"), "file uploaded");
const born = new Date("1990-05-17T12:00:00.000Z");
const players: PlayerObject[] = [
  { name: "Alice", score: 30, active: true, born, stats: { goals: 3 }, tags: ["fast", "left"], team: reds, owner: user,
    avatar, home: { latitude: 48.85, longitude: 2.35 }, blob: new Uint8Array([0, 1]), class: "A" },
  { name: "Bob", score: 10, active: false, tags: ["slow"], team: blues, owner: user, class: "B" },
  { name: "Carol", score: 20, active: true, tags: ["fast"], team: reds, class: "A" },
];
for (const p of players) await client.save(Player, p);

const alice = await client.get(Player, players[0]!.objectId!, [Player.q.team]);
check(alice.score === 30 && alice.born?.getTime() === born.getTime(), "typed read");
check(alice.team?.name === "Reds", "included pointer decoded");
check(alice.home?.latitude === 48.85 && alice.blob?.[1] === 1 && alice.class === "A", "geo, bytes, keyword field");
check(!!alice.avatar?.url, "file field");

const byScore = await client.query(Player).where(Player.q.score.greaterThan(15))
  .order(Player.q.score.descending()).find();
check(byScore.map((p) => p.name).join() === "Alice,Carol", "number operator");
const regex = await client.query(Player).where(Player.q.name.matches("^B")).find();
check(regex.map((p) => p.name).join() === "Bob", "string regex");
check(await client.query(Player).where(Player.q.team.equalTo(reds!)).count() === 2, "pointer equality count");
const fast = await client.query(Player)
  .where(Player.q.tags.containsAll(["fast"]), Player.q.active.equalTo(true)).find();
check(fast.map((p) => p.name).sort().join() === "Alice,Carol", "array $all with boolean");
const near = await client.query(Player)
  .where(Player.q.home.withinKilometers({ latitude: 48.86, longitude: 2.34 }, 10)).find();
check(near.map((p) => p.name).join() === "Alice", "geo query");

const bob = players[1]!;
bob.score = 11;
await client.save(Player, bob);
check((await client.get(Player, bob.objectId!)).score === 11, "update");
await client.destroy(Player, bob);
try {
  await client.get(Player, bob.objectId!);
  check(false, "deleted object still readable");
} catch (error) {
  check(error instanceof ParseError && error.code === 101, "deleted object answers 101");
}

await client.addRelation(Player, alice, Player.q.fans, User, [user]);
const fans = await client.query(User).relatedTo(Player, alice, Player.q.fans).find();
check(fans.map((f) => f.username).join() === "ada", "relation added and queried with $relatedTo");
await client.removeRelation(Player, alice, Player.q.fans, User, [user]);
check(await client.query(User).relatedTo(Player, alice, Player.q.fans).count() === 0, "relation removed");

check(await client.functions.total({ price: 2.5, count: 4 }) === 10, "typed function total");
check(await client.functions.greet({ name: "Ada" }) === "Hello Ada", "typed function greet");
check((await client.functions.teamNames()).join() === "Blues,Reds", "function reading data");

const me = await client.currentUser();
check(me?.username === "ada" && me.nickname === "A", "current user");
// The session token persisted in the storage: a second client is logged in too.
const again = new AppClient(options);
check((await again.currentUser())?.username === "ada", "session persisted across clients");
await again.logOut();
check((await again.currentUser()) === undefined, "logged out");
check((await again.logIn("ada", "pw-123456")).username === "ada", "log in");
try {
  await again.logIn("ada", "wrong");
  check(false, "wrong password accepted");
} catch (error) {
  check(error instanceof ParseError && error.code === 101, "wrong password is 101");
}

// LiveQuery: a typed subscription sees a create that matches it (Node 20 has no WebSocket: the `ws` package's).
const { WebSocket } = (await import(env("HANGAR_WS_MODULE"))) as { WebSocket: SocketConstructor };
const live = new LiveQueryClient(client, WebSocket);
const subscription = await live.subscribe(client.query(Team).where(Team.q.name.startsWith("Live")));
const created = new Promise<TeamObject>((resolve) => subscription.on("create", (team) => resolve(team)));
await client.save(Team, { name: "Not live" });
await client.save(Team, { name: "Live one" });
const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10000));
const seen = await Promise.race([created, timeout]);
check(seen?.name === "Live one" && seen.createdAt instanceof Date, "LiveQuery create event, typed");
live.close();

// Offline: a client that cannot reach the server queues writes, then replays them on reconnect.
const down = new AppClient({ ...options, serverURL: "http://127.0.0.1:9/parse", retries: 0 });
const queue = new OfflineQueue(down, storage);
const cached = await new OfflineQueue(client, storage).find(client.query(Team).where(Team.q.name.equalTo("Reds")));
check(!cached.fromCache && cached.results.length === 1, "online find");
const offlineRead = await queue.find(down.query(Team).where(Team.q.name.equalTo("Reds")));
check(offlineRead.fromCache && offlineRead.results[0]?.name === "Reds", "offline find answers from the cache");
const queued = await queue.save(Team, { name: "Offline" });
check(queued.queued && queue.pending().length === 1, "offline write queued");
check(await queue.replay() === 0 && queue.pending().length === 1, "replay keeps writes while still offline");
const online = new OfflineQueue(client, storage);
check(await online.replay() === 1 && online.pending().length === 0, "replay on reconnect");
check(await client.query(Team).where(Team.q.name.equalTo("Offline")).count() === 1, "queued write arrived");
console.log("typescript sdk ok");
