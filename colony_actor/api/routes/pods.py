"""Pod routes (API.md §5): quick local edits and reads that never wait for the runner."""

from __future__ import annotations

from quart import Response, jsonify
from quart_trio import QuartTrio

from colony_actor.api import params
from colony_actor.api.encoding import Bodies
from colony_actor.api.routes import API
from colony_actor.runtime import timestamps
from colony_actor.service.services import Services


def register(app: QuartTrio, services: Services, bodies: Bodies) -> None:
    colony = services.colony

    @app.get(f"{API}/pods")
    async def list_pods() -> Response:
        pods = await colony.list_pods()
        return await bodies.response_of(lambda: {"pods": [pod.to_json() for pod in pods]})

    @app.post(f"{API}/pods")
    async def create_pod() -> Response:
        body = await params.json_object("name")
        pod = await colony.create_pod(body["name"])
        response = jsonify({"address": pod.address, "name": pod.name,
                    "timestamp": timestamps.now_wire()})
        response.status_code = 201
        return response

    @app.post(f"{API}/pods/<pod>")
    async def rename_pod(pod: str) -> Response:
        body = await params.json_object("name")
        renamed = await colony.rename_pod(pod, body["name"])
        return jsonify({"address": renamed.address, "name": renamed.name,
                    "timestamp": timestamps.now_wire()})

    @app.delete(f"{API}/pods/<pod>")
    async def remove_pod(pod: str) -> Response:
        await colony.remove_pod(pod)
        return Response("", status=204)

    @app.post(f"{API}/pods/<pod>/pod_ref")
    async def add_pod_ref(pod: str) -> Response:
        body = await params.json_object("pod_ref")
        await colony.add_pod_ref(pod, body["pod_ref"])
        response = jsonify({"pod": pod, "pod_ref": body["pod_ref"],
                    "timestamp": timestamps.now_wire()})
        response.status_code = 201
        return response

    @app.delete(f"{API}/pods/<pod>/pod_ref")
    async def remove_pod_ref(pod: str) -> Response:
        body = await params.json_object("pod_ref")
        await colony.remove_pod_ref(pod, body["pod_ref"])
        return Response("", status=204)

    @app.put(f"{API}/pods/<pod>/<path:subject>")
    async def put_subject_data(pod: str, subject: str) -> Response:
        body = await params.json_body()
        return await bodies.response(await colony.put_subject_data(pod, subject, body))

    @app.get(f"{API}/updates")
    async def updates() -> Response:
        return await bodies.response(await colony.updates())
