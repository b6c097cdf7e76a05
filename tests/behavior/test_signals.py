"""Every sub-signal: fires on its pattern, stays quiet on its benign twin and at cold start."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from agentsentinel.behavior import AgentProfile, Detector, DetectorConfig
from agentsentinel.behavior.signals.silence import crossed_quiet, expected_between, mid_activity
from tests.behavior._fleet import T0, call, h, history, profile, trained, workday

AGENTS = ("a1", "a2", "a3", "a4")
FIRES = 0.01  # a sub-signal "fires" below this p-value
QUIET = 0.05  # and is "quiet" at or above this one


@pytest.fixture(scope="module")
def mature() -> tuple[Detector, object]:
    """Four support agents after three weeks of history (shared: tests only call ``score``)."""
    return trained(AGENTS, days=21)


def fresh() -> Detector:
    """A detector that has seen nothing (cold start), with the agents' profiles."""
    detector = Detector()
    for agent_id in AGENTS:
        detector.upsert_profile(profile(agent_id))
    return detector


def clone(detector: Detector) -> Detector:
    """An independent copy of a detector (through its own checkpoints)."""
    copy = Detector(detector.config)
    copy.import_shared_state(detector.export_shared_state())
    for agent_id in AGENTS:
        copy.upsert_profile(profile(agent_id))
        copy.import_agent_state(agent_id, detector.export_agent_state(agent_id))
    return copy


class TestToolRarity:
    def test_fires_on_a_tool_nobody_called(self, mature: tuple[Detector, object]) -> None:
        detector, end = mature
        result = detector.score(call("a1", "delete_ticket", workday(end), "s", random.Random(1)))
        assert result.signals["tool_rarity"] < FIRES

    def test_quiet_on_a_usual_tool(self, mature: tuple[Detector, object]) -> None:
        detector, end = mature
        result = detector.score(call("a1", "read_ticket", workday(end), "s", random.Random(1)))
        assert result.signals["tool_rarity"] >= QUIET

    def test_quiet_at_cold_start(self) -> None:
        result = fresh().score(call("a1", "delete_ticket", T0, "s", random.Random(1)))
        assert result.signals["tool_rarity"] >= QUIET
        assert result.raw_p >= QUIET


class TestUngrantedTool:
    def test_fires_on_first_sight_and_weights_capability_risk(self) -> None:
        detector = Detector(
            DetectorConfig(
                capability_lookup=lambda name: (
                    frozenset({"code_execution"}) if name == "run_shell" else frozenset()
                )
            )
        )
        detector.upsert_profile(profile("a1", tools=["read_ticket", "search_kb"]))
        rng = random.Random(1)
        risky = detector.score(call("a1", "run_shell", T0, "s", rng)).signals["ungranted_tool"]
        harmless = detector.score(call("a1", "weather", T0, "s", rng)).signals["ungranted_tool"]
        assert risky < FIRES
        assert risky < harmless

    def test_quiet_when_granted_or_when_no_grants_are_registered(self) -> None:
        detector = Detector()
        detector.upsert_profile(profile("a1", tools=["read_ticket"]))
        detector.upsert_profile(AgentProfile(agent_id="a2"))
        rng = random.Random(1)
        granted = detector.score(call("a1", "read_ticket", T0, "s", rng))
        no_grants = detector.score(call("a2", "run_shell", T0, "s", rng))
        assert "ungranted_tool" not in granted.signals
        assert "ungranted_tool" not in no_grants.signals


class TestTransition:
    def test_fires_on_sensitive_read_then_new_external_write(
        self, mature: tuple[Detector, object]
    ) -> None:
        detector = clone(mature[0])
        rng = random.Random(2)
        at = workday(mature[1])  # type: ignore[arg-type]
        detector.process(call("a1", "read_ticket", at, "exfil", rng))
        # reply_ticket after read_ticket is routine; send_email only ever follows search_kb.
        usual = detector.score(call("a1", "search_kb", at + timedelta(seconds=5), "exfil", rng))
        risky = detector.score(call("a1", "send_email", at + timedelta(seconds=5), "exfil", rng))
        assert risky.signals["transition"] < FIRES
        assert usual.signals["transition"] >= QUIET

    def test_quiet_at_cold_start(self) -> None:
        detector = fresh()
        rng = random.Random(2)
        detector.process(call("a1", "read_ticket", T0, "s", rng))
        result = detector.score(call("a1", "send_email", T0 + timedelta(seconds=5), "s", rng))
        assert result.signals.get("transition", 1.0) >= QUIET


class TestExfiltration:
    """Sensitive read, then an external write to a never-seen destination: one family."""

    def _after_read(
        self, mature: tuple[Detector, object], then: tuple[str, ...], target: str | None
    ) -> dict[str, float]:
        detector = clone(mature[0])
        rng = random.Random(4)
        at = workday(mature[1])  # type: ignore[arg-type]
        detector.process(call("a1", "read_ticket", at, "x", rng))
        for i, tool in enumerate(then[:-1]):
            detector.process(call("a1", tool, at + timedelta(seconds=3 + i), "x", rng))
        overrides = {} if target is None else {"target_hash": target}
        last = call("a1", then[-1], at + timedelta(seconds=9), "x", rng, **overrides)
        return detector.score(last).signals

    def test_fires_on_the_conjunction_more_than_on_either_half(
        self, mature: tuple[Detector, object]
    ) -> None:
        signals = self._after_read(mature, ("send_email",), h("attacker"))
        assert signals["exfiltration"] < FIRES
        assert signals["exfiltration"] < signals["transition"]
        assert signals["exfiltration"] < signals["destination"]

    def test_quiet_on_its_benign_twins(self, mature: tuple[Detector, object]) -> None:
        attack = self._after_read(mature, ("send_email",), h("attacker"))["exfiltration"]
        # The usual path to the email (via the knowledge base) to a new address: ordinary work.
        usual = self._after_read(mature, ("search_kb", "send_email"), h("new colleague"))
        assert usual["exfiltration"] >= QUIET
        # The risky transition to a known address: the conjunction does not hold.
        known = self._after_read(mature, ("send_email",), None)
        assert known["destination"] == 1.0
        assert known["exfiltration"] > 10 * attack
        # An external write with a destination in a session that read nothing sensitive.
        detector, end = mature
        rng = random.Random(5)
        at = workday(end)  # type: ignore[arg-type]
        clean = detector.score(call("a1", "send_email", at, "y", rng, target_hash=h("z")))
        assert "exfiltration" not in clean.signals

    def test_quiet_at_cold_start(self) -> None:
        detector = fresh()
        rng = random.Random(2)
        detector.process(call("a1", "read_ticket", T0, "s", rng))
        later = T0 + timedelta(seconds=5)
        result = detector.score(call("a1", "send_email", later, "s", rng, target_hash=h("x")))
        assert result.signals["exfiltration"] >= QUIET
        assert result.raw_p >= QUIET


class TestDestination:
    def test_fires_on_a_new_destination_of_a_fixed_recipient_tool(
        self, mature: tuple[Detector, object]
    ) -> None:
        detector, end = mature
        rng = random.Random(3)
        at = workday(end)  # type: ignore[arg-type]
        new = detector.score(call("a1", "send_email", at, "s", rng, target_hash=h("attacker")))
        known = detector.score(call("a1", "send_email", at, "s", rng))
        novel = detector.score(call("a1", "reply_ticket", at, "s", rng))
        # Three known addresses, each new once: Good-Turing says new ones are rare (~3/45).
        assert new.signals["destination"] < QUIET
        assert new.signals["destination"] < novel.signals["destination"] / 10
        assert known.signals["destination"] == 1.0

    def test_quiet_on_a_tool_that_always_reaches_new_destinations(
        self, mature: tuple[Detector, object]
    ) -> None:
        detector, end = mature
        result = detector.score(call("a1", "reply_ticket", workday(end), "s", random.Random(3)))
        assert result.signals["destination"] >= 0.5

    def test_quiet_at_cold_start(self) -> None:
        rng = random.Random(3)
        result = fresh().score(call("a1", "send_email", T0, "s", rng, target_hash=h("x")))
        assert result.signals["destination"] >= QUIET


class TestRepeats:
    @staticmethod
    def _with_retries() -> Detector:
        """An agent that retries about one search in ten (same input, same session)."""
        detector = Detector()
        detector.upsert_profile(profile("a1"))
        rng = random.Random(4)
        for i in range(600):
            at = T0 + timedelta(days=i // 40, hours=9 + (i % 40) / 5)
            query = h("query", i)
            detector.process(call("a1", "search_kb", at, f"s{i}", rng, input_hash=query))
            if i % 10 == 0:
                detector.process(
                    call(
                        "a1", "search_kb", at + timedelta(seconds=3), f"s{i}", rng, input_hash=query
                    )
                )
        return detector

    def test_fires_on_a_loop_and_not_on_a_retry(self) -> None:
        detector = self._with_retries()
        rng = random.Random(4)
        at = T0 + timedelta(days=20, hours=10)
        same = h("same input")
        detector.process(call("a1", "search_kb", at, "loop", rng, input_hash=same))
        retry = detector.score(call("a1", "search_kb", at, "loop", rng, input_hash=same))
        for i in range(8):
            detector.process(
                call("a1", "search_kb", at + timedelta(seconds=i), "loop", rng, input_hash=same)
            )
        loop = detector.score(call("a1", "search_kb", at, "loop", rng, input_hash=same))
        assert loop.signals["repeat_input"] < FIRES
        assert retry.signals["repeat_input"] >= QUIET

    def test_probing_same_answer_to_different_inputs(self) -> None:
        detector = self._with_retries()
        rng = random.Random(4)
        at = T0 + timedelta(days=20, hours=10)
        denied = h("access denied page")
        result = None
        for i in range(8):
            result = detector.process(
                call(
                    "a1",
                    "search_kb",
                    at + timedelta(seconds=i),
                    "probe",
                    rng,
                    input_hash=h("probe", i),
                    output_hash=denied,
                )
            )
        assert result is not None
        assert result.signals["repeat_output"] < FIRES

    def test_quiet_at_cold_start(self) -> None:
        detector = fresh()
        rng = random.Random(4)
        for _ in range(3):
            detector.process(call("a1", "search_kb", T0, "s", rng, input_hash=h("x")))
        result = detector.score(call("a1", "search_kb", T0, "s", rng, input_hash=h("x")))
        assert result.signals["repeat_input"] >= QUIET


class TestMagnitudes:
    def test_fires_on_a_hundredfold_size(self, mature: tuple[Detector, object]) -> None:
        detector, end = mature
        rng = random.Random(5)
        at = workday(end)  # type: ignore[arg-type]
        spike = detector.score(call("a1", "read_ticket", at, "s", rng, input_bytes=110_000))
        usual = detector.score(call("a1", "read_ticket", at, "s", rng, input_bytes=1_200))
        assert spike.signals["magnitude.input_bytes"] < FIRES
        assert usual.signals["magnitude.input_bytes"] >= QUIET

    def test_fires_on_an_amount_spike(self, mature: tuple[Detector, object]) -> None:
        detector, end = mature
        rng = random.Random(5)
        at = workday(end)  # type: ignore[arg-type]
        big = detector.score(call("a1", "issue_refund", at, "s", rng, metrics={"amount": 9000.0}))
        usual = detector.score(call("a1", "issue_refund", at, "s", rng, metrics={"amount": 55.0}))
        assert big.signals["magnitude.amount"] < 2 * FIRES
        assert usual.signals["magnitude.amount"] >= QUIET

    def test_steady_series_is_neither_blind_nor_a_hair_trigger(self) -> None:
        """sigma = 0: every past value identical. Twice as much is mild; 100x is loud."""
        detector = Detector()
        detector.upsert_profile(profile("a1"))
        rng = random.Random(5)
        for i in range(400):
            at = T0 + timedelta(minutes=10 * i)
            detector.process(call("a1", "read_ticket", at, f"s{i}", rng, input_bytes=1000))
        at = T0 + timedelta(days=4)
        double = detector.score(call("a1", "read_ticket", at, "x", rng, input_bytes=2000))
        huge = detector.score(call("a1", "read_ticket", at, "x", rng, input_bytes=100_000))
        assert double.signals["magnitude.input_bytes"] >= FIRES
        assert huge.signals["magnitude.input_bytes"] < FIRES / 2  # at the conformal floor
        assert huge.signals["magnitude.input_bytes"] < double.signals["magnitude.input_bytes"] / 5

    def test_quiet_at_cold_start(self) -> None:
        detector = fresh()
        rng = random.Random(5)
        for i in range(5):
            detector.process(call("a1", "read_ticket", T0 + timedelta(minutes=i), "s", rng))
        result = detector.score(call("a1", "read_ticket", T0, "s", rng, input_bytes=10**8))
        assert result.signals["magnitude.input_bytes"] >= 1.0 / 7


class TestRate:
    def test_fires_on_a_burst(self, mature: tuple[Detector, object]) -> None:
        detector = clone(mature[0])
        rng = random.Random(6)
        at = workday(mature[1])  # type: ignore[arg-type]
        first = detector.score(call("a1", "read_ticket", at, "burst", rng))
        last = first
        for i in range(150):
            last = detector.process(
                call("a1", "read_ticket", at + timedelta(seconds=0.5 * i), "burst", rng)
            )
        assert min(last.signals["rate.10s"], last.signals["rate.60s"]) < FIRES
        assert min(first.signals["rate.10s"], first.signals["rate.60s"]) >= QUIET

    def test_quiet_at_cold_start(self) -> None:
        detector = fresh()
        rng = random.Random(6)
        result = None
        for i in range(150):
            result = detector.process(
                call("a1", "read_ticket", T0 + timedelta(seconds=0.5 * i), "b", rng)
            )
        assert result is not None
        assert result.signals["rate.10s"] == 1.0
        assert result.signals["rate.60s"] == 1.0


class TestSlowRamp:
    def test_fires_on_a_sustained_increase_of_hourly_volume(self) -> None:
        agents = ("a1", "a2", "a3", "a4")
        detector, end = trained(agents, days=21)
        rng = random.Random(7)
        worst = 1.0
        day = workday(end, hour=9.0)  # type: ignore[arg-type]
        # Two working days at four times the usual volume, growing through the day.
        for d in range(2):
            for hour in range(8):
                sessions = 4 + 6 * hour
                for n in range(sessions):
                    at = day + timedelta(days=d, hours=hour, minutes=55 * n / sessions)
                    for k, tool in enumerate(("read_ticket", "search_kb", "update_ticket")):
                        result = detector.process(
                            call("a1", tool, at + timedelta(seconds=k), f"r{d}-{hour}-{n}", rng)
                        )
                        worst = min(worst, result.signals.get("rate.ramp", 1.0))
        assert worst < FIRES

    @staticmethod
    def _busy_afternoon_then_morning(config: DetectorConfig) -> float:
        """Ramp p of a busy call the morning after an afternoon at rising volume."""
        agents = ("a1", "a2", "a3", "a4")
        detector, end = trained(agents, days=21, config=config)
        rng = random.Random(7)
        day = workday(end, hour=13.0)  # type: ignore[arg-type]
        for hour in range(4):
            sessions = 6 + 4 * hour
            for n in range(sessions):
                at = day + timedelta(hours=hour, minutes=55 * n / sessions)
                for k, tool in enumerate(("read_ticket", "search_kb", "update_ticket")):
                    detector.process(call("a1", tool, at + timedelta(seconds=k), f"r{hour}", rng))
        morning = day + timedelta(days=1, hours=-4)
        results = [
            detector.process(call("a1", "read_ticket", at, "m", rng))
            for at in (morning + timedelta(minutes=5 * n) for n in range(3))
        ]
        return results[-1].signals.get("rate.ramp", 1.0)

    def test_a_ramp_resumes_after_the_night(self) -> None:
        # Quiet hours hold no evidence: the excess of the evening is still remembered the next
        # morning (it used to fade at the active-hour leak and restart from zero).
        resumed = self._busy_afternoon_then_morning(DetectorConfig())
        forgotten = self._busy_afternoon_then_morning(DetectorConfig(cusum_quiet_leak=0.85))
        assert resumed < QUIET <= forgotten

    def test_quiet_on_an_ordinary_week(self) -> None:
        agents = ("a1", "a2", "a3", "a4")
        detector = Detector()
        for agent_id in agents:
            detector.upsert_profile(profile(agent_id))
        events = history(agents, days=28, seed=8)
        split = T0 + timedelta(days=21)
        worst = 1.0
        for event in events:
            result = detector.process(event)
            if event.occurred_at >= split and event.agent_id == "a1":
                worst = min(worst, result.signals.get("rate.ramp", 1.0))
        assert worst >= 1e-3


class TestTimeOfDay:
    def test_fires_on_a_3am_session(self, mature: tuple[Detector, object]) -> None:
        detector, end = mature
        rng = random.Random(9)
        night = detector.score(call("a1", "read_ticket", workday(end, 3.0), "n", rng))
        day = detector.score(call("a1", "read_ticket", workday(end, 10.0), "d", rng))
        assert night.signals["time_of_day"] < FIRES
        assert day.signals["time_of_day"] >= QUIET

    def test_quiet_at_cold_start(self) -> None:
        result = fresh().score(call("a1", "read_ticket", T0.replace(hour=3), "n", random.Random(9)))
        assert result.signals["time_of_day"] >= QUIET


class TestErrors:
    def test_fires_on_an_error_storm_not_on_one_error(
        self, mature: tuple[Detector, object]
    ) -> None:
        detector = clone(mature[0])
        rng = random.Random(10)
        at = workday(mature[1])  # type: ignore[arg-type]
        one = detector.score(
            call("a1", "read_ticket", at, "e", rng, status="error", error_type="timeout")
        )
        results = [
            detector.process(
                call(
                    "a1",
                    "read_ticket",
                    at + timedelta(seconds=i),
                    "e",
                    rng,
                    status="error",
                    error_type="permission_denied",
                )
            )
            for i in range(20)
        ]
        assert results[-1].signals["errors"] < FIRES
        assert results[0].signals["error_type"] < QUIET  # never seen in ~80 errors of the group
        assert one.signals["errors"] >= FIRES

    def test_quiet_at_cold_start(self) -> None:
        detector = fresh()
        rng = random.Random(10)
        result = None
        for i in range(5):
            result = detector.process(
                call("a1", "read_ticket", T0 + timedelta(seconds=i), "e", rng, status="error")
            )
        assert result is not None
        assert result.signals["errors"] >= 1.0 / 6  # five calls of evidence in all


class TestDefinitionDrift:
    @staticmethod
    def _fleet() -> tuple[Detector, object]:
        return trained(AGENTS, days=7)

    def test_change_on_one_agent_is_a_rug_pull_once_peers_still_report_the_old_one(
        self,
    ) -> None:
        detector, end = self._fleet()
        rng = random.Random(11)
        at = workday(end)  # type: ignore[arg-type]
        rug = h("poisoned definition")
        first = detector.process(call("a1", "search_kb", at, "r", rng, tool_definition_hash=rug))
        # A peer still reports the old definition after the deployment window.
        detector.process(call("a2", "search_kb", at + timedelta(minutes=20), "p", rng))
        later = detector.process(
            call("a1", "search_kb", at + timedelta(minutes=25), "r2", rng, tool_definition_hash=rug)
        )
        # Pending: peers may still follow, so only the weak prior of a one-agent change.
        assert first.signals["tool_definition"] == detector.config.definition_pending_p
        assert later.signals["tool_definition"] < FIRES

    def test_a_pending_change_ranks_above_an_unchanged_definition(self) -> None:
        detector, end = self._fleet()
        rng = random.Random(12)
        at = workday(end)  # type: ignore[arg-type]
        same = detector.score(call("a1", "search_kb", at, "s", rng))
        changed = detector.score(
            call("a1", "search_kb", at, "c", rng, tool_definition_hash=h("poisoned definition"))
        )
        assert same.signals["tool_definition"] == 1.0
        assert FIRES <= changed.signals["tool_definition"] < QUIET  # weak: not an alarm alone
        assert changed.raw_p < same.raw_p

    def test_same_change_across_peers_within_minutes_is_a_deployment(self) -> None:
        detector, end = self._fleet()
        rng = random.Random(11)
        at = workday(end)  # type: ignore[arg-type]
        new = h("definition", "search_kb", 2)
        results = []
        for i, agent_id in enumerate(AGENTS):
            results.append(
                detector.process(
                    call(
                        agent_id,
                        "search_kb",
                        at + timedelta(minutes=2 * i),
                        f"d{i}",
                        rng,
                        tool_definition_hash=new,
                    )
                )
            )
        later = detector.process(
            call("a1", "search_kb", at + timedelta(hours=2), "d9", rng, tool_definition_hash=new)
        )
        # The first adopters are pending (weak prior) until k agents report the new definition.
        pending = detector.config.definition_pending_p
        assert [r.signals["tool_definition"] for r in results] == [pending, pending, 1.0, 1.0]
        assert later.signals["tool_definition"] == 1.0

    def test_an_acknowledged_definition_is_not_drift(self) -> None:
        detector, end = self._fleet()
        rng = random.Random(11)
        new = h("reviewed definition")
        detector.upsert_profile(
            AgentProfile(
                agent_id="a1",
                agent_type="support_agent",
                owner_team="emea",
                granted_tools=profile("a1").granted_tools,
                tool_definition_hashes={"search_kb": new},
            )
        )
        at = workday(end)  # type: ignore[arg-type]
        detector.process(call("a2", "search_kb", at + timedelta(minutes=20), "p", rng))
        result = detector.process(
            call("a1", "search_kb", at + timedelta(hours=1), "r", rng, tool_definition_hash=new)
        )
        assert result.signals["tool_definition"] == 1.0


class TestSilence:
    def test_reports_an_agent_that_stops_in_the_middle_of_its_day(self) -> None:
        agents = ("a1", "a2", "a3", "a4")
        # A small fleet (four agents, few calls) supports p-values down to a few per mille.
        detector = Detector(DetectorConfig(silence_max_p=0.005))
        for agent_id in agents:
            detector.upsert_profile(profile(agent_id))
        events = history(agents, days=25, seed=12)
        stop = T0 + timedelta(days=22, hours=11)  # a Tuesday, 11:00
        for event in events:
            if event.agent_id == "a1" and event.occurred_at >= stop:
                continue
            detector.process(event)
        alerts = detector.check_silence(stop + timedelta(hours=5))
        silent = [a for a in alerts if a.agent_id == "a1"]
        assert silent, "a1 stopped at 11:00 and should be reported by 16:00"
        assert silent[0].p_value <= detector.config.silence_max_p
        assert all(a.agent_id == "a1" for a in alerts)
        assert detector.behavior_score("a1", stop + timedelta(hours=5)).silence is not None

    def test_an_end_of_day_stop_is_reported_once_the_next_working_day_is_missed(self) -> None:
        agents = ("a1", "a2", "a3", "a4")
        detector = Detector(DetectorConfig(silence_max_p=0.005))
        for agent_id in agents:
            detector.upsert_profile(profile(agent_id))
        stop = T0 + timedelta(days=22, hours=17)  # Tuesday, after the day's work
        for event in history(agents, days=25, seed=12):
            if event.agent_id == "a1" and event.occurred_at >= stop:
                continue
            detector.process(event)
        night = [a.agent_id for a in detector.check_silence(stop + timedelta(hours=10))]
        assert "a1" not in night  # Wednesday 03:00: an ordinary night so far
        morning = detector.check_silence(stop + timedelta(hours=17))  # Wednesday 10:00
        noon = detector.check_silence(stop + timedelta(hours=21))  # Wednesday 14:00
        assert [a.agent_id for a in noon] == ["a1"]
        p_morning = next((a.p_value for a in morning if a.agent_id == "a1"), 1.0)
        assert noon[0].p_value <= p_morning  # the evidence grows with the missed hours

    def test_quiet_at_night_and_for_young_agents(self) -> None:
        detector, end = trained(("a1", "a2", "a3", "a4"), days=21)
        night = workday(end, 3.0)  # type: ignore[arg-type]
        assert detector.check_silence(night) == []
        young, young_end = trained(("a1", "a2"), days=3)
        assert young.check_silence(young_end + timedelta(days=1, hours=5)) == []


class TestSilenceUnits:
    """Gap kinds from the hourly profile: weekdays 09:00-17:00 UTC, 10 calls an hour."""

    means = [10.0 if 9 <= h < 17 else 0.0 for h in range(24)] + [0.0] * 24
    tuesday = T0 + timedelta(days=1)

    def at(self, hours: float) -> float:
        return (self.tuesday + timedelta(hours=hours)).timestamp()

    def test_mid_activity_is_measured_from_the_instant_not_the_clock_hour(self) -> None:
        assert mid_activity(self.means, 10.0, self.at(11.0))
        assert mid_activity(self.means, 10.0, self.at(15.0))
        # 15:50: the slot and the next hold two full hours, but only 70 minutes of work remain.
        assert not mid_activity(self.means, 10.0, self.at(15.0 + 50 / 60))
        assert not mid_activity(self.means, 10.0, self.at(20.0))
        weekend = (T0 + timedelta(days=5, hours=11)).timestamp()
        assert not mid_activity(self.means, 10.0, weekend)
        assert not mid_activity(self.means, 0.0, self.at(11.0))

    def test_crossed_quiet_needs_a_whole_quiet_hour(self) -> None:
        assert not crossed_quiet(self.means, 10.0, self.at(11.2), self.at(16.9))
        assert crossed_quiet(self.means, 10.0, self.at(11.2), self.at(18.1))
        assert crossed_quiet(self.means, 10.0, self.at(11.2), self.at(11.2 + 24 * 9))

    def test_days_of_missed_activity(self) -> None:
        daily = sum(self.means[:24])
        day_off = expected_between(self.means, self.at(17.0), self.at(24 + 17.0)) / daily
        assert day_off == pytest.approx(1.0)
        weekend = expected_between(self.means, self.at(3 * 24 + 17.0), self.at(6 * 24 + 9.0))
        assert weekend == 0.0  # Friday evening to Monday morning misses nothing
