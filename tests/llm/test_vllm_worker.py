"""vLLM workers: the command line and environment they get, the `genai worker` CLI, and real vLLM servers
serving the tiny model (OpenAI API, streaming, metrics, greedy parity with transformers, kill/restart)."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from genai.cli.main import app
from genai.llm.worker import (
    VllmNotInstalledError,
    WorkerConfig,
    WorkerProcess,
    find_vllm_python,
    vllm_command,
    vllm_environment,
)

LOAD_GAUGES = ("vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc")
PROMPTS = ("The gateway reads", "def loads(value: int) -> int:", "Grüße aus dem Norden")
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is a gateway?"}]


def _config(**overrides: Any) -> WorkerConfig:
    values: dict[str, Any] = {
        "model": "/models/tiny",
        "port": 8123,
        "log_file": Path("/tmp/w.log"),
        "python": Path("/opt/vllm/bin/python"),
        "served_model_name": "tiny",
    }
    return WorkerConfig(**(values | overrides))


def test_cpu_command_and_environment() -> None:
    config = _config(cpu_bind="1", extra_args=("--seed", "3"))
    command = vllm_command(config)
    assert command[:3] == ["/opt/vllm/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(command)
    for expected in (
        "--model /models/tiny",
        "--port 8123",
        "--served-model-name tiny",
        "--dtype float32",
        "--max-model-len 512",
        "--enforce-eager",
    ):
        assert expected in joined
    assert command[-2:] == ["--seed", "3"]
    assert "--gpu-memory-utilization" not in command

    env = vllm_environment(config, base={"PYTHONPATH": "/app", "PATH": "/usr/bin", "HF_HUB_OFFLINE": "0"})
    assert "PYTHONPATH" not in env
    assert env["PATH"].split(":")[0] == "/opt/vllm/bin"
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "1"
    assert env["VLLM_NO_USAGE_STATS"] == "1"
    assert env["HF_HUB_OFFLINE"] == "0", "an explicit setting of the caller wins"
    assert vllm_environment(config, base={})["HF_HUB_OFFLINE"] == "1"


def test_gpu_command_passes_gpu_flags() -> None:
    config = _config(device="gpu", gpu_memory_utilization=0.8, tensor_parallel_size=2, max_model_len=4096)
    command = " ".join(vllm_command(config))
    assert "--dtype auto --gpu-memory-utilization 0.8 --tensor-parallel-size 2" in command
    assert "--max-model-len 4096" in command
    assert "--enforce-eager" not in command and "float32" not in command
    assert "VLLM_CPU_KVCACHE_SPACE" not in vllm_environment(config, base={})


def test_missing_vllm_venv_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENAI_VLLM_PYTHON", str(tmp_path / "nowhere" / "python"))
    with pytest.raises(VllmNotInstalledError, match="make vllm"):
        find_vllm_python()
    result = CliRunner().invoke(app, ["worker", "--model", "tiny", "--port", "8123"])
    assert result.exit_code == 1
    assert "make vllm" in result.output


def test_embed_task_runs_the_pooling_runner() -> None:
    assert "--runner pooling --convert embed" in " ".join(vllm_command(_config(task="embed")))
    assert "--runner" not in vllm_command(_config())
    result = CliRunner().invoke(app, ["worker", "--model", "tiny", "--port", "8123", "--task", "rank"])
    assert result.exit_code == 2 and "generate or embed" in result.output


def test_cli_rejects_an_unknown_device() -> None:
    result = CliRunner().invoke(app, ["worker", "--model", "tiny", "--port", "8123", "--device", "tpu"])
    assert result.exit_code == 2
    assert "cpu or gpu" in result.output


def test_gpu_manifest_is_a_headless_gpu_deployment() -> None:
    import yaml

    manifest = Path(__file__).parents[2] / "deployments" / "k8s" / "vllm-gpu.yaml"
    docs = {doc["kind"]: doc for doc in yaml.safe_load_all(manifest.read_text())}
    # Headless: the gateway's DNS discovery sees every pod's address, not one virtual IP.
    assert docs["Service"]["spec"]["clusterIP"] == "None"
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    vllm = pod["containers"][0]
    assert vllm["image"].startswith("vllm/vllm-openai:v") and not vllm["image"].endswith("latest")
    flags = {arg.split("=")[0] for arg in vllm["args"]}
    assert {
        "--model",
        "--served-model-name",
        "--tensor-parallel-size",
        "--gpu-memory-utilization",
        "--max-model-len",
    } <= flags
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert vllm["readinessProbe"]["httpGet"]["path"] == "/health"
    assert any(volume.get("emptyDir", {}).get("medium") == "Memory" for volume in pod["volumes"])
    assert docs["PodDisruptionBudget"]["spec"]["selector"] == docs["Deployment"]["spec"]["selector"]


# ---- real vLLM servers --------------------------------------------------------------------------------


def _post(worker: WorkerProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{worker.url}{path}", json={"model": "tiny", **body}, timeout=60)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _greedy_with_transformers(model_dir: Path, input_ids: list[int], new_tokens: int) -> list[int]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    with torch.no_grad():
        output = model.generate(torch.tensor([input_ids]), max_new_tokens=new_tokens, do_sample=False)
    return [int(token) for token in output[0, len(input_ids) :]]


def test_models_endpoint_lists_the_served_name(vllm_worker: WorkerProcess) -> None:
    assert httpx.get(f"{vllm_worker.url}/health", timeout=5).status_code == 200
    models = httpx.get(f"{vllm_worker.url}/v1/models", timeout=5).json()
    assert [(entry["id"], entry["max_model_len"]) for entry in models["data"]] == [("tiny", 512)]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_completion_equals_transformers_generate(
    vllm_worker: WorkerProcess, tiny_model_dir: Path, prompt: str
) -> None:
    from transformers import AutoTokenizer

    body = {"prompt": prompt, "max_tokens": 16, "temperature": 0, "return_token_ids": True}
    choice = _post(vllm_worker, "/v1/completions", body)["choices"][0]
    prompt_ids = AutoTokenizer.from_pretrained(tiny_model_dir)(prompt).input_ids
    assert choice["prompt_token_ids"] == prompt_ids
    expected = _greedy_with_transformers(tiny_model_dir, prompt_ids, 16)
    assert choice["token_ids"] == expected
    assert choice["finish_reason"] == ("stop" if len(expected) < 16 else "length")


def test_greedy_chat_equals_transformers_generate(vllm_worker: WorkerProcess, tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    body = {"messages": MESSAGES, "max_tokens": 12, "temperature": 0, "return_token_ids": True}
    result = _post(vllm_worker, "/v1/chat/completions", body)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rendered: Any = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, return_dict=True)
    prompt_ids = list(rendered["input_ids"])
    assert result["prompt_token_ids"] == prompt_ids, "vLLM renders the chat template like transformers"
    assert result["choices"][0]["token_ids"] == _greedy_with_transformers(tiny_model_dir, prompt_ids, 12)
    assert result["usage"]["prompt_tokens"] == len(prompt_ids)


def test_completion_and_chat_shapes_and_usage(vllm_worker: WorkerProcess) -> None:
    completion = _post(
        vllm_worker, "/v1/completions", {"prompt": ["one", "two words"], "max_tokens": 5, "ignore_eos": True}
    )
    assert completion["object"] == "text_completion"
    assert [choice["index"] for choice in completion["choices"]] == [0, 1]
    assert completion["usage"]["completion_tokens"] == 10

    chat = _post(
        vllm_worker,
        "/v1/chat/completions",
        {"messages": MESSAGES, "max_tokens": 7, "temperature": 0, "ignore_eos": True},
    )
    assert chat["object"] == "chat.completion"
    message = chat["choices"][0]["message"]
    assert message["role"] == "assistant" and isinstance(message["content"], str)
    assert chat["choices"][0]["finish_reason"] == "length"
    usage = chat["usage"]
    assert usage["completion_tokens"] == 7
    assert usage["total_tokens"] == usage["prompt_tokens"] + 7


def _stream_events(worker: WorkerProcess, body: dict[str, Any]) -> list[Any]:
    events: list[Any] = []
    with httpx.stream(
        "POST", f"{worker.url}/v1/chat/completions", json={"model": "tiny", **body}, timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                payload = line.removeprefix("data: ")
                events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def test_streaming_chat_matches_the_non_streamed_answer(vllm_worker: WorkerProcess) -> None:
    body = {"messages": MESSAGES, "max_tokens": 8, "temperature": 0, "ignore_eos": True}
    whole = _post(vllm_worker, "/v1/chat/completions", body)["choices"][0]["message"]["content"]
    events = _stream_events(vllm_worker, body | {"stream": True, "stream_options": {"include_usage": True}})

    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"])
    assert text == whole
    finishes = [
        choice["finish_reason"] for chunk in chunks for choice in chunk["choices"] if choice["finish_reason"]
    ]
    assert finishes == ["length"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 8


def _metric(text: str, name: str) -> float:
    """The sum of a metric's samples for the model ``tiny`` (over its other labels, e.g. finished_reason)."""
    pattern = rf'^{re.escape(name)}\{{[^}}]*model_name="tiny"[^}}]*\}} (\S+)$'
    values = [float(value) for value in re.findall(pattern, text, re.MULTILINE)]
    assert values, f"{name} is missing from /metrics"
    return sum(values)


def test_metrics_expose_the_load_gauges(vllm_worker: WorkerProcess) -> None:
    _post(vllm_worker, "/v1/completions", {"prompt": "count me", "max_tokens": 2})
    text = httpx.get(f"{vllm_worker.url}/metrics", timeout=5).text
    for gauge in LOAD_GAUGES:
        assert f"# TYPE {gauge} gauge" in text
        assert _metric(text, gauge) >= 0
    assert _metric(text, "vllm:request_success_total") >= 1
    assert "vllm:time_to_first_token_seconds_bucket" in text


def test_kill_makes_the_worker_unreachable_and_restart_brings_it_back(vllm_worker: WorkerProcess) -> None:
    first_pid = vllm_worker.pid
    try:
        vllm_worker.kill()
        assert not vllm_worker.is_running()
        assert not vllm_worker.ready(timeout=1)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{vllm_worker.url}/health", timeout=2)
        vllm_worker.restart()
        assert vllm_worker.pid != first_pid
        answer = _post(
            vllm_worker, "/v1/completions", {"prompt": "back", "max_tokens": 3, "ignore_eos": True}
        )
        assert answer["usage"]["completion_tokens"] == 3
    finally:
        vllm_worker.ensure_ready()


def test_a_pair_of_workers_serves_the_same_model(
    vllm_worker_pair: tuple[WorkerProcess, WorkerProcess],
) -> None:
    first, second = vllm_worker_pair
    assert first.url != second.url
    body = {"prompt": PROMPTS[0], "max_tokens": 12, "temperature": 0, "return_token_ids": True}
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda worker: _post(worker, "/v1/completions", body), vllm_worker_pair))
    ids = [answer["choices"][0]["token_ids"] for answer in answers]
    assert ids[0] == ids[1], "both workers serve the same weights, so greedy answers agree"
