"""bench/loadtest.py: its pure parts (percentiles, messages, the tab's state, the report),
and one small live load against a started server (marked slow)."""

from __future__ import annotations

import concurrent.futures
import math

import numpy as np
import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench import loadtest as lt


@pytest.mark.parametrize("q", [0, 10, 50, 95, 99, 100])
@pytest.mark.parametrize("n", [1, 2, 5, 30, 101])
def test_percentile_matches_numpy_linear(q, n):
    values = list(np.random.default_rng(n).exponential(100.0, n))
    assert lt.percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_percentile_of_nothing_is_nan():
    assert math.isnan(lt.percentile([], 50))


def test_xsrf_token_from_set_cookie():
    headers = ["other=1; Path=/", "_streamlit_xsrf=2|ab12|cd34|17; Path=/; SameSite=Lax"]
    assert lt.xsrf_token(headers) == "2|ab12|cd34|17"
    assert lt.xsrf_token(["other=1"]) is None


def test_handshake_is_same_origin_with_the_xsrf_token():
    args = lt.handshake("http://127.0.0.1:8765/", {"_streamlit_xsrf": "2|a|b|1"})
    assert args["uri"] == "ws://127.0.0.1:8765/_stcore/stream"
    assert args["origin"] == "http://127.0.0.1:8765"
    assert args["subprotocols"] == ["streamlit", "2|a|b|1"]
    assert args["additional_headers"] == {"Cookie": "_streamlit_xsrf=2|a|b|1"}
    assert lt.handshake("http://h:1/base", {})["uri"] == "ws://h:1/base/_stcore/stream"
    both = lt.handshake("http://h:1", {"_streamlit_xsrf": "x", "lossviz_worker": "2"})
    assert both["additional_headers"] == {"Cookie": "_streamlit_xsrf=x; lossviz_worker=2"}
    assert lt.cookies_from(["a=1; Path=/", "b=2"]) == {"a": "1", "b": "2"}


def test_rerun_message_names_the_page_by_path_then_by_hash():
    first = lt.build_rerun("mining", "source=digits", "", [], "http://h/mining?source=digits")
    state = BackMsg.FromString(first.SerializeToString()).rerun_script
    assert (state.page_name, state.page_script_hash) == ("mining", "")
    assert state.query_string == "source=digits"
    assert state.context_info.url == "http://h/mining?source=digits"
    assert state.HasField("widget_states") and not state.widget_states.widgets

    later = lt.build_rerun("mining", "", "abc", ["h1", "h2"], "http://h/mining").rerun_script
    assert (later.page_name, later.page_script_hash) == ("", "abc")
    assert list(later.cached_message_hashes) == ["h1", "h2"]


def _msg(**fields) -> ForwardMsg:
    msg = ForwardMsg()
    for name, value in fields.items():
        target, _, attr = name.rpartition("__")
        obj = msg
        for part in target.split("__") if target else []:
            obj = getattr(obj, part)
        setattr(obj, attr, value)
    return msg


def _exception_delta(kind: str) -> ForwardMsg:
    msg = ForwardMsg()
    msg.delta.new_element.exception.type = kind
    return msg


def test_tab_follows_a_rerun_to_its_final_script_finished():
    tab = lt.TabState("http://h:1", "playground", "")
    rerun = lt.Rerun(latency_s=math.nan)
    new_session = ForwardMsg()
    new_session.new_session.initialize.session_id = "s-1"
    new_session.new_session.page_script_hash = "main"
    new_session.new_session.config.max_cached_message_age = 3
    chart = _msg(hash="h-chart", metadata__cacheable=True)
    chart.delta.new_element.markdown.body = "x"
    stream = [
        _msg(session_status_changed__script_is_running=True),
        new_session,
        _msg(navigation__page_script_hash="page"),
        _msg(script_finished=ForwardMsg.FINISHED_EARLY_FOR_RERUN),  # the page's st.rerun()
        new_session,
        _msg(page_info_changed__query_string="a=1"),
        chart,
        _exception_delta("ValueError"),
    ]
    assert not any(tab.absorb(m, rerun) for m in stream)
    assert tab.absorb(_msg(script_finished=ForwardMsg.FINISHED_SUCCESSFULLY), rerun)
    assert rerun.runs == 2 and rerun.exceptions == ["ValueError"] and rerun.error == "exception"
    assert (tab.session_id, tab.page_script_hash, tab.query) == ("s-1", "main", "a=1")
    assert tab.max_cache_age == 3

    state = tab.rerun_message().rerun_script
    assert state.page_script_hash == "main" and state.query_string == "a=1"
    assert list(state.cached_message_hashes) == ["h-chart"]
    assert state.context_info.url == "http://h:1/playground?a=1"


def test_cached_message_expires_unless_referenced():
    tab = lt.TabState("http://h", "p", "")
    tab.max_cache_age = 1
    chart = _msg(hash="h", metadata__cacheable=True)
    done = _msg(script_finished=ForwardMsg.FINISHED_SUCCESSFULLY)
    for msg in (chart, done, _msg(ref_hash="h"), done):
        tab.absorb(msg, lt.Rerun(latency_s=0.0))
    assert tab.cache == {"h": 1}  # referenced in run 1; after run 2 its age is 1
    tab.absorb(done, lt.Rerun(latency_s=0.0))
    assert "h" not in tab.cache  # age 2 > 1


def test_compile_error_and_page_not_found_are_errors():
    tab = lt.TabState("http://h", "p", "")
    rerun = lt.Rerun(latency_s=0.0)
    tab.absorb(_msg(page_not_found__page_name="nope"), rerun)
    assert tab.absorb(_msg(script_finished=ForwardMsg.FINISHED_WITH_COMPILE_ERROR), rerun)
    assert rerun.compile_error and rerun.error == "compile"


def test_growth_fits_the_slope_from_rerun_20():
    rss = [100.0] * 19 + [200.0 + 0.01 * i for i in range(181)]
    result = lt.growth(rss)
    assert result["growth_reruns"] == (20, 200)
    assert result["growth_mb"] == pytest.approx(1.8)
    assert result["growth_mb_per_100"] == pytest.approx(1.0)
    assert lt.growth([1.0] * 21) == {}


@pytest.mark.parametrize(
    "spec",
    [
        lt.LoadSpec(clients=0),
        lt.LoadSpec(clients=lt.MAX_CLIENTS + 1),
        lt.LoadSpec(reruns=lt.MAX_RERUNS + 1),
        lt.LoadSpec(cap_s=lt.MAX_SECONDS + 1),
        lt.LoadSpec(timeout_s=120, cap_s=60),
    ],
)
def test_specs_beyond_the_caps_are_refused(spec):
    with pytest.raises(ValueError):
        spec.checked()


def _fake_result(latencies_ms: list[list[float]], errors: int = 0) -> dict:
    reports = [
        lt.ClientReport(reruns=[lt.Rerun(ms / 1e3, runs=1, received_bytes=1024) for ms in client])
        for client in latencies_ms
    ]
    for report in reports[:errors]:
        report.reruns[0].exceptions.append("ValueError")
    spec = lt.LoadSpec(clients=len(reports), reruns=len(latencies_ms[0]))
    result = lt.summarize(reports, wall_s=2.0, spec=spec)
    result.update(server_cpu_ms_per_rerun=20.0, server_cores=0.8, client_cores=0.05)
    memory = dict(cold_mb=70.0, cold_first_run_ms=3000.0, idle_mb=340.0, peak_mb=380.0)
    memory.update(recovery_s=0.0, after_mb=370.0, watched_mb=350.0)
    memory.update(lt.growth([340.0 + 0.01 * i for i in range(200)]))
    return {**result, "memory": memory, "load": (4.0, 4.5)}


def test_summary_keeps_first_runs_apart():
    result = _fake_result([[900, 100, 120], [800, 110, 130]], errors=1)
    assert result["first_ms"][50] == pytest.approx(850)
    assert result["steady_ms"][100] == pytest.approx(130)
    assert result["completed"] == 6 and result["throughput"] == pytest.approx(3.0)
    assert result["errors"] == {"exception": 1}


def test_report_judges_the_targets_on_the_medians():
    fast = _fake_result([[400, 100, 120]] * 3)
    slow = _fake_result([[400, 500, 900]] * 3, errors=1)
    runs = {name: [fast, slow, fast] for name in lt.SCENARIOS}
    text = lt.report(runs, elapsed_s=60.0)
    assert "`playground-30`: p50 <= 300 ms (steady) | 110 ms | **met** | 2/3 |" in text
    assert "`playground-60`: 0 errors | 0 | **met** | 2/3 |" in text
    assert "45 s later 350" in text
    assert "| 1.8 MB | **met** | 3/3" in text
    assert "NOT met" not in text


@pytest.mark.slow
def test_three_clients_rerun_a_started_server_without_errors():
    spec = lt.LoadSpec("playground", clients=3, reruns=2, timeout_s=120)
    # Its own thread: in a full run, Playwright's sync API (the browser tests) leaves an
    # event loop running in this one, and asyncio.run refuses to nest.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(lt.run_load, spec).result()
    assert result["errors"] == {}
    assert result["completed"] == 6 and result["sessions"] == 3
    assert result["script_runs_per_rerun_max"] == 1
    assert result["steady_kb"] < result["first_kb"]  # unchanged charts come as ref_hash
    assert result["memory"]["idle_mb"] > result["memory"]["cold_mb"]
