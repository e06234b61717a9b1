// Misuses the generated TypeScript SDK's types: tsc --strict must reject every marked line.
import { AppClient, Player, Team } from "./index.js";
import type { Player as PlayerObject } from "./index.js";

const client = new AppClient({ serverURL: "http://127.0.0.1:1/parse" });
const wrong: PlayerObject = { score: "ten" }; // error
client.query(Player).where(Player.q.score.matches("^1")); // error
client.query(Player).where(Player.q.name.greaterThan(3)); // error
client.query(Team).where(Player.q.name.equalTo("x")); // error
void client.functions.total({ price: "2", count: 4 }); // error
export { wrong };
