"""Misuses the generated Python SDK's types: mypy --strict must reject every marked line."""

from __future__ import annotations

from sdk_app_sdk import Client, Config, Functions, Player, Team

client = Client(Config(server_url="http://127.0.0.1:1/parse", application_id="x"))
Player(score="ten")  # error: a string for a Number field
client.query(Player).where(Player.q.score.matches("^1"))  # error: no regex on a number field
client.query(Player).where(Player.q.name.gt(3))  # error: a number for a String comparison
client.query(Team).where(Player.q.name.equal_to("x"))  # error: a Player constraint on a Team query
Functions(client).total(price="2", count=4)  # error: a string for a float parameter
