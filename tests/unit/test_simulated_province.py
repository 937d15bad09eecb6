"""The three simulated systems run together on one world and one clock."""

import datetime as dt
import json
import urllib.request
from base64 import b64encode

from govkpi.calendar import VN_TZ
from govkpi.simulator import SimulatedProvince


def _get(url, headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return json.loads(r.read())


def test_three_systems_share_one_world_and_clock():
    t1 = dt.datetime(2017, 6, 30, 17, 0, tzinfo=VN_TZ)
    with SimulatedProvince(seed=9, dossiers=400, as_of=t1) as province:
        env = province.environment()
        assert {env["GOVKPI_ONESTOP_URL"], env["GOVKPI_EOFFICE_URL"], env["GOVKPI_DVC_URL"]} \
            == {s.url for s in province.systems}
        assert len({s.port for s in province.systems}) == 3
        docs = _get(f"{env['GOVKPI_EOFFICE_URL']}/api/v2/documents?limit=1000",
                    {"X-API-Key": env["GOVKPI_EOFFICE_API_KEY"]})
        basic = b64encode(f"{env['GOVKPI_DVC_USERNAME']}:{env['GOVKPI_DVC_PASSWORD']}".encode())
        subs = _get(f"{env['GOVKPI_DVC_URL']}/api/submissions?limit=1000",
                    {"Authorization": f"Basic {basic.decode()}"})
        online = {d["MaHoSo"] for d in province.world.dossiers_as_of(t1)
                  if d["KenhThucHien"] == 2}
        assert {s["dossier_code"] for s in subs if s["status"] == "accepted"} == online
        assert docs["items"]
        province.set_as_of(dt.datetime(2018, 1, 15, 8, 0, tzinfo=VN_TZ))
        assert all(s.as_of.year == 2018 for s in province.systems)
